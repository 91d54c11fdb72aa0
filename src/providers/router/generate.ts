import type { GenerateResult, RoutedStreamPart } from './types.js';

/**
 * Collects a routed stream into one answer. Rejects with the stream's ProviderError: a
 * non-streaming caller has no use for partial text.
 */
export async function collectStream(
  parts: AsyncIterable<RoutedStreamPart>,
  now: () => number,
): Promise<GenerateResult> {
  const startedAt = now();
  let text = '';
  let start: Extract<RoutedStreamPart, { type: 'start' }> | undefined;
  for await (const part of parts) {
    if (part.type === 'start') start = part;
    else if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'error') throw part.error;
    else if (start) {
      return {
        text,
        usage: part.usage,
        finishReason: part.finishReason,
        provider: start.provider,
        model: start.model,
        deploymentId: start.deploymentId,
        attempt: start.attempt,
        ttftMs: start.ttftMs,
        latencyMs: now() - startedAt,
      };
    }
  }
  throw new Error('Routed stream ended without a finish or an error part');
}
