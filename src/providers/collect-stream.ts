import type { FinishReason, StreamPart, TokenUsage, ToolCall } from './types.js';

export interface CollectedStream {
  text: string;
  /** In the order the model started them; empty when it called none. */
  toolCalls: ToolCall[];
  usage: TokenUsage;
  finishReason: { unified: FinishReason; raw: string | undefined };
}

/**
 * Non-streaming calls are a collected stream, so every provider has one code path.
 * Throws the `ProviderError` of an error part.
 */
export async function collectStream(parts: AsyncIterable<StreamPart>): Promise<CollectedStream> {
  let text = '';
  const calls = new Map<string, ToolCall>();
  for await (const part of parts) {
    if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'tool-call-start') calls.set(part.id, { id: part.id, name: part.name, arguments: '' });
    else if (part.type === 'tool-call-delta') {
      const call = calls.get(part.id);
      if (call) call.arguments += part.argumentsDelta;
    } else if (part.type === 'tool-call-end') continue;
    else if (part.type === 'finish') {
      return { text, toolCalls: [...calls.values()], usage: part.usage, finishReason: part.finishReason };
    } else throw part.error;
  }
  throw new Error('stream ended without a finish or error part');
}
