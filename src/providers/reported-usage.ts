import type { TokenUsage } from './types.js';

/**
 * A token count as an upstream reported it, if it is one: a non-negative safe integer. A negative
 * or fractional count from a buggy or hostile upstream must never reach a charge (a negative one
 * would credit a budget).
 */
export function tokenCount(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

/** Usage with every count checked: an invalid count is 0, cache counts never exceed the prompt. */
export function saneUsage(usage: TokenUsage): TokenUsage {
  const promptTokens = tokenCount(usage.promptTokens) ?? 0;
  const cached = Math.min(tokenCount(usage.cachedPromptTokens) ?? 0, promptTokens);
  const written = Math.min(tokenCount(usage.cacheWritePromptTokens) ?? 0, promptTokens - cached);
  return {
    promptTokens,
    completionTokens: tokenCount(usage.completionTokens) ?? 0,
    ...(cached > 0 && { cachedPromptTokens: cached }),
    ...(written > 0 && { cacheWritePromptTokens: written }),
  };
}

/** The counts an upstream reported before failing (some may be missing), each checked. */
export function saneReportedSoFar(usage: Partial<TokenUsage>): Partial<TokenUsage> {
  const checked: Partial<TokenUsage> = {};
  for (const key of ['promptTokens', 'completionTokens', 'cachedPromptTokens', 'cacheWritePromptTokens'] as const) {
    if (usage[key] !== undefined) checked[key] = tokenCount(usage[key]) ?? 0;
  }
  return checked;
}
