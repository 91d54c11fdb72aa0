import type { FinishReason, StreamPart, TokenUsage } from './types.js';

export interface CollectedStream {
  text: string;
  usage: TokenUsage;
  finishReason: { unified: FinishReason; raw: string | undefined };
}

/**
 * Non-streaming calls are a collected stream, so every provider has one code path.
 * Throws the `ProviderError` of an error part.
 */
export async function collectStream(parts: AsyncIterable<StreamPart>): Promise<CollectedStream> {
  let text = '';
  for await (const part of parts) {
    if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'finish') return { text, usage: part.usage, finishReason: part.finishReason };
    else throw part.error;
  }
  throw new Error('stream ended without a finish or error part');
}
