import { randomUUID } from 'node:crypto';
import type { CollectedStream } from '../../providers/collect-stream.js';
import { ProviderError } from '../../providers/provider-error.js';
import type { FinishReason, TokenUsage } from '../../providers/types.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

/** `msg_` and 24 random characters, as Anthropic's ids look. */
export const messageId = () => `msg_${randomUUID().replaceAll('-', '')}`;

/**
 * The unified finish as Anthropic's `stop_reason`. A reply with tool calls is `tool_use` whatever
 * the upstream said (Ollama finishes those with `stop`). Which stop sequence matched is known only
 * when the request had one.
 */
export function mapStopReason(
  finish: { unified: FinishReason; raw: string | undefined },
  calledTools: boolean,
  stopSequences: readonly string[] | undefined,
): { stop_reason: StopReason; stop_sequence: string | null } {
  if (finish.unified === 'length') return { stop_reason: 'max_tokens', stop_sequence: null };
  if (calledTools || finish.unified === 'tool-calls') return { stop_reason: 'tool_use', stop_sequence: null };
  if (finish.unified === 'content-filter') return { stop_reason: 'refusal', stop_sequence: null };
  if (finish.raw === 'stop_sequence') {
    return {
      stop_reason: 'stop_sequence',
      stop_sequence: stopSequences?.length === 1 ? (stopSequences[0] as string) : null,
    };
  }
  return { stop_reason: 'end_turn', stop_sequence: null };
}

/** Anthropic counts cache reads and writes apart from `input_tokens`; the contract counts them inside the prompt. */
export function anthropicUsage(usage: TokenUsage) {
  const read = usage.cachedPromptTokens ?? 0;
  const write = usage.cacheWritePromptTokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.promptTokens - read - write),
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
    output_tokens: usage.completionTokens,
  };
}

/** A tool call's JSON text as the object Anthropic's `input` is (an empty text: no arguments). */
export function toolInput(name: string, json: string, provider: string): Record<string, unknown> {
  if (json.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProviderError({
      provider,
      code: 'UPSTREAM_ERROR',
      message: `${provider}: the model called ${name} with arguments that are not a JSON object`,
      retryable: false,
    });
  }
  return parsed as Record<string, unknown>;
}

/** The non-streamed reply: text first, then the tool calls in the order the model made them. */
export function messageBody(
  collected: CollectedStream,
  info: { model: string; provider: string; stopSequences: readonly string[] | undefined },
) {
  const content: Record<string, unknown>[] = [];
  if (collected.text !== '') content.push({ type: 'text', text: collected.text });
  for (const call of collected.toolCalls) {
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.name,
      input: toolInput(call.name, call.arguments, info.provider),
    });
  }
  return {
    id: messageId(),
    type: 'message',
    role: 'assistant',
    model: info.model,
    content,
    ...mapStopReason(collected.finishReason, collected.toolCalls.length > 0, info.stopSequences),
    usage: anthropicUsage(collected.usage),
  };
}
