import type Anthropic from '@anthropic-ai/sdk';
import type { TokenUsage } from '../types.js';

/**
 * Adds up Anthropic's usage over a stream. Its `input_tokens` leaves out cache reads and cache
 * writes, so the whole prompt is the three together. `message_start` reports the prompt (and an
 * output count that is not final); `message_delta` reports cumulative totals, any field of
 * which may be null (not reported: the last value stands).
 */
export function createAnthropicUsage() {
  let input = 0;
  let cacheRead = 0;
  let cacheWrite = 0;
  let output = 0;
  let started = false;
  let delta = false;

  const prompt = (): Omit<TokenUsage, 'completionTokens'> => ({
    promptTokens: input + cacheRead + cacheWrite,
    ...(cacheRead > 0 && { cachedPromptTokens: cacheRead }),
    ...(cacheWrite > 0 && { cacheWritePromptTokens: cacheWrite }),
  });

  return {
    start(usage: Anthropic.Usage): void {
      started = true;
      input = usage.input_tokens;
      cacheRead = usage.cache_read_input_tokens ?? 0;
      cacheWrite = usage.cache_creation_input_tokens ?? 0;
      output = usage.output_tokens;
    },
    delta(usage: Anthropic.MessageDeltaUsage): void {
      delta = true;
      input = usage.input_tokens ?? input;
      cacheRead = usage.cache_read_input_tokens ?? cacheRead;
      cacheWrite = usage.cache_creation_input_tokens ?? cacheWrite;
      output = usage.output_tokens;
    },
    /** The usage of a finished message. */
    total(): TokenUsage {
      return { ...prompt(), completionTokens: output };
    },
    /** What was reported before a cut: the prompt once the message started, the output once counted. */
    partial(): Partial<TokenUsage> | undefined {
      if (!started && !delta) return undefined;
      return { ...prompt(), ...(delta && { completionTokens: output }) };
    },
  };
}
