import type { ModelPrice } from './types.js';

/**
 * The prices the gateway ships, in USD per million tokens, standard tier (no batch, flex,
 * priority, regional or long-context surcharges). Keyed by the undated model id; a dated
 * snapshot id finds its entry through `baseModelId` (base-model-id.ts), unless it has an entry
 * of its own because its price differs (`gpt-4o-2024-05-13`).
 *
 * Read on 2026-11-30 (stored copies of the pages, through the project's search tool):
 * - Anthropic: https://platform.claude.com/docs/en/about-claude/pricing ("Model pricing": base
 *   input, 5m cache writes, cache hits, output; Opus 5 to 4, Sonnet 4.6 to 3.5, Haiku 4.5 to 3)
 *   and https://platform.claude.com/docs/zh-CN/models/sonnet-5/overview (Sonnet 5). `cacheWrite`
 *   is the 5-minute write; the gateway asks for no 1-hour cache. Sonnet 4 and 4.5 cost more for
 *   prompts over 200K tokens on a 1M-context request: not modelled (the gateway budgets them to
 *   200K).
 * - OpenAI: https://developers.openai.com/api/docs/pricing and the model pages under
 *   https://developers.openai.com/api/docs/models/ ("Text tokens": input, cached input, output;
 *   read there for gpt-5 and gpt-4.1-nano); the other OpenAI numbers are LiteLLM's (below).
 *   OpenAI bills no cache writes for these models.
 * - LiteLLM's model_prices_and_context_window.json (github.com/BerriAI/litellm), in its synced
 *   copy github.com/Wei-Shaw/model-price-repo at f9ff147 (2026-07-24): agrees with every entry
 *   here that it lists (all but claude-3-5-* and the text-embedding-* models, whose prices are
 *   Anthropic's page and OpenAI's long-standing embedding prices).
 *
 * Anything missing or different for a deployment goes under `prices:` in the config file.
 */
export const PRICES_CHECKED_ON = '2026-11-30';

export const PRICE_SOURCES = {
  openai: 'https://developers.openai.com/api/docs/pricing',
  anthropic: 'https://platform.claude.com/docs/en/about-claude/pricing',
} as const;

function price(input: number, cachedInput: number | undefined, output: number, cacheWrite?: number): ModelPrice {
  return {
    input,
    output,
    ...(cachedInput === undefined ? {} : { cachedInput }),
    ...(cacheWrite === undefined ? {} : { cacheWrite }),
  };
}

/** OpenAI: input, cached input, output. */
export const openAIPrices: Readonly<Record<string, ModelPrice>> = {
  'gpt-5.5': price(5, 0.5, 30),
  'gpt-5.4': price(2.5, 0.25, 15),
  'gpt-5.4-mini': price(0.75, 0.075, 4.5),
  'gpt-5.4-nano': price(0.2, 0.02, 1.25),
  'gpt-5.2': price(1.75, 0.175, 14),
  'gpt-5.1': price(1.25, 0.125, 10),
  'gpt-5': price(1.25, 0.125, 10),
  'gpt-5-mini': price(0.25, 0.025, 2),
  'gpt-5-nano': price(0.05, 0.005, 0.4),
  'gpt-5-pro': price(15, undefined, 120),
  'gpt-4.1': price(2, 0.5, 8),
  'gpt-4.1-mini': price(0.4, 0.1, 1.6),
  'gpt-4.1-nano': price(0.1, 0.025, 0.4),
  'gpt-4o': price(2.5, 1.25, 10),
  'gpt-4o-2024-05-13': price(5, undefined, 15),
  'gpt-4o-mini': price(0.15, 0.075, 0.6),
  'gpt-4-turbo': price(10, undefined, 30),
  'gpt-4': price(30, undefined, 60),
  'gpt-3.5-turbo': price(0.5, undefined, 1.5),
  o1: price(15, 7.5, 60),
  'o1-pro': price(150, undefined, 600),
  o3: price(2, 0.5, 8),
  'o3-mini': price(1.1, 0.55, 4.4),
  'o3-pro': price(20, undefined, 80),
  'o4-mini': price(1.1, 0.275, 4.4),
  'text-embedding-3-small': price(0.02, undefined, 0),
  'text-embedding-3-large': price(0.13, undefined, 0),
  'text-embedding-ada-002': price(0.1, undefined, 0),
};

const opus45 = price(5, 0.5, 25, 6.25);
const opus4 = price(15, 1.5, 75, 18.75);
const sonnet4 = price(3, 0.3, 15, 3.75);

/** Anthropic: input, cache hits, output, 5-minute cache writes. Aliases priced like their model. */
export const anthropicPrices: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-5': opus45,
  'claude-opus-4-8': opus45,
  'claude-opus-4-7': opus45,
  'claude-opus-4-6': opus45,
  'claude-opus-4-5': opus45,
  'claude-opus-4-1': opus4,
  'claude-opus-4': opus4,
  'claude-opus-4-0': opus4,
  'claude-sonnet-5': price(2, 0.2, 10, 2.5),
  'claude-sonnet-4-6': sonnet4,
  'claude-sonnet-4-5': sonnet4,
  'claude-sonnet-4': sonnet4,
  'claude-sonnet-4-0': sonnet4,
  'claude-3-7-sonnet': sonnet4,
  'claude-3-7-sonnet-latest': sonnet4,
  'claude-3-5-sonnet': sonnet4,
  'claude-3-5-sonnet-latest': sonnet4,
  'claude-haiku-4-5': price(1, 0.1, 5, 1.25),
  'claude-3-5-haiku': price(0.8, 0.08, 4, 1),
  'claude-3-5-haiku-latest': price(0.8, 0.08, 4, 1),
  'claude-3-opus': opus4,
  'claude-3-opus-latest': opus4,
  'claude-3-haiku': price(0.25, 0.03, 1.25, 0.3),
};

/** Every shipped price by model id (ids of the two providers never collide). */
export const priceTable: ReadonlyMap<string, ModelPrice> = new Map([
  ...Object.entries(openAIPrices),
  ...Object.entries(anthropicPrices),
]);
