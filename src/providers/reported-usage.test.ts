import { describe, expect, it } from 'vitest';
import { saneUsage, tokenCount } from './reported-usage.js';

describe('reported usage', () => {
  it('keeps counts that are counts', () => {
    expect(tokenCount(0)).toBe(0);
    expect(tokenCount(1234)).toBe(1234);
    expect(
      saneUsage({ promptTokens: 10, completionTokens: 5, cachedPromptTokens: 4, cacheWritePromptTokens: 2 }),
    ).toEqual({ promptTokens: 10, completionTokens: 5, cachedPromptTokens: 4, cacheWritePromptTokens: 2 });
  });

  it('turns what is not a count into 0, never into a credit', () => {
    for (const bad of [-1, -1e9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, '12', null, undefined]) {
      expect(tokenCount(bad)).toBeUndefined();
    }
    expect(saneUsage({ promptTokens: -500, completionTokens: 2.5 })).toEqual({ promptTokens: 0, completionTokens: 0 });
    // Cache counts are parts of the prompt: never more than it.
    expect(
      saneUsage({ promptTokens: 10, completionTokens: 1, cachedPromptTokens: 50, cacheWritePromptTokens: 9 }),
    ).toEqual({ promptTokens: 10, completionTokens: 1, cachedPromptTokens: 10 });
  });
});
