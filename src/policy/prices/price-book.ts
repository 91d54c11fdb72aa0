import { baseModelId } from './base-model-id.js';
import { priceTable } from './price-table.js';
import type { BilledUsage, ModelPrice, PriceBook, PricedModel } from './types.js';

export interface PriceBookOptions {
  /**
   * The config file's `prices:`. A key is a model id (`gpt-4o-mini`) or a qualified one,
   * `<provider>/<model>`, where provider is a kind (`openai/gpt-4o`) or a named deployment
   * (`azure-east/gpt-4o`). Matched without regard to case.
   */
  overrides?: Readonly<Record<string, ModelPrice>> | undefined;
  /** The shipped table unless given (tests). */
  table?: ReadonlyMap<string, ModelPrice>;
}

/** Kinds that run on the operator's own machines: free unless an override prices them. */
export const LOCAL_KINDS: ReadonlySet<string> = new Set(['mock', 'ollama']);

const FREE: ModelPrice = { input: 0, output: 0 };

/**
 * Prices a deployment's model, first match wins:
 * 1. an override for the exact id, then for its undated base (`baseModelId`); at each, the
 *    deployment-qualified key, then the kind-qualified key, then the bare id;
 * 2. a local kind (mock, Ollama): free;
 * 3. the shipped table, exact id then undated base;
 * 4. otherwise unknown (null): xAI and other OpenAI-compatible deployments are priced only by
 *    the table (when they serve a model it lists) or by an override.
 */
export function createPriceBook(options: PriceBookOptions = {}): PriceBook {
  const overrides = new Map(Object.entries(options.overrides ?? {}).map(([key, price]) => [key.toLowerCase(), price]));
  const table = options.table ?? priceTable;

  function priceOf({ kind, model, provider }: PricedModel): ModelPrice | null {
    const exact = model.toLowerCase();
    const ids = unique([exact, baseModelId(exact)]);
    const qualifiers = unique([provider?.toLowerCase(), kind.toLowerCase()]);
    for (const id of ids) {
      for (const qualifier of qualifiers) {
        const qualified = overrides.get(`${qualifier}/${id}`);
        if (qualified) return qualified;
      }
      const bare = overrides.get(id);
      if (bare) return bare;
    }
    if (LOCAL_KINDS.has(kind)) return FREE;
    for (const id of ids) {
      const listed = table.get(id);
      if (listed) return listed;
    }
    return null;
  }

  return {
    priceOf,
    costNanos(target, usage) {
      const price = priceOf(target);
      return price === null ? null : costInNanos(price, usage);
    },
  };
}

/**
 * Nano-dollars (1e-9 USD) a generation cost, rounded up to a whole one. Of the prompt, cache
 * reads are billed at `cachedInput` and cache writes at `cacheWrite` (each falling back to
 * `input`), the rest at `input`. Summed exactly in pico-dollars (prices read to 1e-6 USD per
 * million tokens), so no float error can tip the rounding.
 */
export function costInNanos(price: ModelPrice, usage: BilledUsage): number {
  const prompt = tokens(usage.promptTokens);
  const cached = Math.min(tokens(usage.cachedPromptTokens), prompt);
  const written = Math.min(tokens(usage.cacheWritePromptTokens), prompt - cached);
  const fresh = prompt - cached - written;
  const picos =
    BigInt(fresh) * picosPerToken(price.input) +
    BigInt(cached) * picosPerToken(price.cachedInput ?? price.input) +
    BigInt(written) * picosPerToken(price.cacheWrite ?? price.input) +
    BigInt(tokens(usage.completionTokens)) * picosPerToken(price.output);
  return Number((picos + 999n) / 1000n);
}

/** USD per million tokens, times 1e6, is pico-dollars (1e-12 USD) per token. */
function picosPerToken(usdPerMillion: number): bigint {
  return BigInt(Math.round(usdPerMillion * 1e6));
}

/** A token count as a whole non-negative number (a fraction counts as a whole token). */
function tokens(count: number | undefined): number {
  return count !== undefined && Number.isFinite(count) && count > 0 ? Math.ceil(count) : 0;
}

function unique(values: ReadonlyArray<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))];
}
