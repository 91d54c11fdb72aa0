import type { OperationMetrics } from './operation-metrics.js';

/**
 * The parts of a streamed REST call, counting each text delta as sent when its consumer takes it
 * (the consumer writes it to the client before asking for the next part).
 */
export async function* countedDeltas<T extends { type: string }>(
  parts: AsyncIterable<T>,
  metrics: Pick<OperationMetrics, 'deltaSent'>,
): AsyncGenerator<T> {
  for await (const part of parts) {
    if (part.type === 'text-delta') metrics.deltaSent('rest');
    yield part;
  }
}
