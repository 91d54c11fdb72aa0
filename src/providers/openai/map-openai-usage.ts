import type OpenAI from 'openai';
import type { TokenUsage } from '../types.js';

/** OpenAI's usage: `prompt_tokens` is the whole prompt, cache hits included (`cached_tokens`). */
export function mapOpenAIUsage(usage: OpenAI.CompletionUsage): TokenUsage {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    ...(cached > 0 && { cachedPromptTokens: cached }),
  };
}
