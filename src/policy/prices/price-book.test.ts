import { describe, expect, it } from 'vitest';
import { baseModelId } from './base-model-id.js';
import { costInNanos, createPriceBook } from './price-book.js';
import { anthropicPrices, openAIPrices } from './price-table.js';

describe('baseModelId', () => {
  it.each([
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['gpt-4.1-2025-04-14', 'gpt-4.1'],
    ['o1-2024-12-17', 'o1'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-3-5-haiku-20241022', 'claude-3-5-haiku'],
    ['claude-opus-4-20250514', 'claude-opus-4'],
  ])('%s -> %s', (dated, base) => {
    expect(baseModelId(dated)).toBe(base);
  });

  it.each([
    'gpt-4o',
    'claude-sonnet-4-5', // a version, not a date
    'gpt-4-0613', // four digits are no date
    'gpt-3.5-turbo-0125',
    'claude-3-5-sonnet-latest',
    'model-2024-13-01', // no month 13
    'model-20241301',
    'model-1999-01-01', // not a 20xx year
    'gpt-4o-2024-05-13-extra', // the date must end the id
  ])('leaves %s alone', (id) => {
    expect(baseModelId(id)).toBe(id);
  });
});

describe('createPriceBook: which price applies', () => {
  const book = createPriceBook({
    overrides: {
      'gpt-4o-mini': { input: 1, output: 2 },
      'azure-east/gpt-4o': { input: 3, output: 4 },
      'OpenAI/GPT-4O': { input: 5, output: 6 },
      'mock-echo': { input: 7, output: 8 },
      'ollama/llama3.2': { input: 9, output: 10 },
      'grok-3-mini': { input: 0.3, output: 0.5 },
      'claude-sonnet-4-5-20250929': { input: 11, output: 12 },
    },
  });

  it('an override beats the table, by bare id for every kind', () => {
    expect(book.priceOf({ kind: 'openai', model: 'gpt-4o-mini' })).toEqual({ input: 1, output: 2 });
    expect(book.priceOf({ kind: 'openai', model: 'gpt-4o-mini-2024-07-18' })).toEqual({ input: 1, output: 2 });
  });

  it('a deployment-qualified override beats a kind-qualified one, which beats the table (case ignored)', () => {
    expect(book.priceOf({ kind: 'openai', provider: 'azure-east', model: 'gpt-4o' })).toEqual({ input: 3, output: 4 });
    expect(book.priceOf({ kind: 'openai', provider: 'azure-west', model: 'gpt-4o' })).toEqual({ input: 5, output: 6 });
    expect(book.priceOf({ kind: 'openai', model: 'gpt-4o-2024-11-20' })).toEqual({ input: 5, output: 6 });
    expect(book.priceOf({ kind: 'xai', model: 'gpt-4o' })).toEqual(openAIPrices['gpt-4o']);
  });

  it('an override for the exact dated id beats one for its base; the base id does not see it', () => {
    expect(book.priceOf({ kind: 'anthropic', model: 'claude-sonnet-4-5-20250929' })).toEqual({ input: 11, output: 12 });
    expect(book.priceOf({ kind: 'anthropic', model: 'claude-sonnet-4-5' })).toEqual(
      anthropicPrices['claude-sonnet-4-5'],
    );
  });

  it('mock and Ollama are free unless overridden, named Ollama deployments too', () => {
    expect(book.priceOf({ kind: 'mock', model: 'mock-other' })).toEqual({ input: 0, output: 0 });
    expect(book.priceOf({ kind: 'mock', model: 'mock-echo' })).toEqual({ input: 7, output: 8 });
    expect(book.priceOf({ kind: 'ollama', model: 'llama3.2' })).toEqual({ input: 9, output: 10 });
    expect(book.priceOf({ kind: 'ollama', provider: 'gpu-box', model: 'qwen3:8b' })).toEqual({ input: 0, output: 0 });
    // a local kind serving a model the table lists is still free
    expect(book.priceOf({ kind: 'ollama', model: 'gpt-4o' })).toEqual({ input: 0, output: 0 });
    expect(book.costNanos({ kind: 'ollama', model: 'qwen3:8b' }, { promptTokens: 10_000, completionTokens: 500 })).toBe(
      0,
    );
  });

  it('xAI and OpenAI-compatible deployments: only the table or an override; otherwise unknown', () => {
    expect(book.priceOf({ kind: 'xai', model: 'grok-3-mini' })).toEqual({ input: 0.3, output: 0.5 });
    expect(book.priceOf({ kind: 'xai', model: 'grok-4' })).toBeNull();
    expect(book.priceOf({ kind: 'openai', provider: 'vllm', model: 'meta-llama/Llama-3.1-8B' })).toBeNull();
    expect(
      book.costNanos({ kind: 'openai', model: 'unknown-model' }, { promptTokens: 1, completionTokens: 1 }),
    ).toBeNull();
  });

  it('dated snapshots find their base entry, unless priced apart', () => {
    const plain = createPriceBook();
    expect(plain.priceOf({ kind: 'openai', model: 'gpt-4o-mini-2024-07-18' })).toEqual(openAIPrices['gpt-4o-mini']);
    expect(plain.priceOf({ kind: 'anthropic', model: 'claude-haiku-4-5-20251001' })).toEqual(
      anthropicPrices['claude-haiku-4-5'],
    );
    expect(plain.priceOf({ kind: 'openai', model: 'gpt-4o-2024-05-13' })).toEqual({ input: 5, output: 15 });
    expect(plain.priceOf({ kind: 'openai', model: 'gpt-4o-2024-08-06' })).toEqual(openAIPrices['gpt-4o']);
  });
});

describe('costNanos', () => {
  const book = createPriceBook();

  it('bills per million tokens: gpt-4o-mini, 1,000 in and 500 out = 150,000 + 300,000 nano-dollars', () => {
    expect(
      book.costNanos({ kind: 'openai', model: 'gpt-4o-mini' }, { promptTokens: 1_000, completionTokens: 500 }),
    ).toBe(450_000);
  });

  it('rounds up to a whole nano-dollar, and float error never adds one', () => {
    // o3-mini: 1.10 USD/M in, 4.40 out; as doubles 3 * 1.1 * 1000 is 3300.0000000000005
    expect(book.costNanos({ kind: 'openai', model: 'o3-mini' }, { promptTokens: 3, completionTokens: 3 })).toBe(16_500);
    expect(book.costNanos({ kind: 'openai', model: 'o3-mini' }, { promptTokens: 100, completionTokens: 0 })).toBe(
      110_000,
    );
    // 0.0004 USD/M is 0.4 nano-dollars a token
    const tiny = { input: 0.0004, output: 0 };
    expect(costInNanos(tiny, { promptTokens: 1, completionTokens: 0 })).toBe(1);
    expect(costInNanos(tiny, { promptTokens: 2, completionTokens: 0 })).toBe(1);
    expect(costInNanos(tiny, { promptTokens: 3, completionTokens: 0 })).toBe(2);
    expect(costInNanos(tiny, { promptTokens: 2_500, completionTokens: 0 })).toBe(1_000);
    expect(book.costNanos({ kind: 'openai', model: 'gpt-4o' }, { promptTokens: 0, completionTokens: 0 })).toBe(0);
  });

  it('bills cached prompt tokens at cachedInput, falling back to input', () => {
    const usage = { promptTokens: 10_000, completionTokens: 0, cachedPromptTokens: 8_000 };
    // gpt-4.1: 2,000 fresh at 2 USD/M + 8,000 cached at 0.5 USD/M
    expect(book.costNanos({ kind: 'openai', model: 'gpt-4.1' }, usage)).toBe(4_000_000 + 4_000_000);
    // gpt-4-turbo has no cached price: all 10,000 at 10 USD/M
    expect(book.costNanos({ kind: 'openai', model: 'gpt-4-turbo' }, usage)).toBe(100_000_000);
  });

  it('bills cache writes at cacheWrite, falling back to input', () => {
    // claude-sonnet-4-5: 1,000 fresh at 3, 2,000 read at 0.30, 3,000 written at 3.75, 100 out at 15
    const usage = {
      promptTokens: 6_000,
      completionTokens: 100,
      cachedPromptTokens: 2_000,
      cacheWritePromptTokens: 3_000,
    };
    expect(book.costNanos({ kind: 'anthropic', model: 'claude-sonnet-4-5-20250929' }, usage)).toBe(
      3_000_000 + 600_000 + 11_250_000 + 1_500_000,
    );
    expect(costInNanos({ input: 2, output: 0 }, usage)).toBe(12_000_000);
  });

  it('never bills more cached or written tokens than the prompt has', () => {
    const price = { input: 1, output: 0, cachedInput: 0.5, cacheWrite: 2 };
    expect(costInNanos(price, { promptTokens: 100, completionTokens: 0, cachedPromptTokens: 150 })).toBe(50_000);
    expect(
      costInNanos(price, {
        promptTokens: 100,
        completionTokens: 0,
        cachedPromptTokens: 60,
        cacheWritePromptTokens: 60,
      }),
    ).toBe(30_000 + 80_000);
    expect(costInNanos(price, { promptTokens: -5, completionTokens: Number.NaN })).toBe(0);
  });
});
