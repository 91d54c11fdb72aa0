import type { TimeoutPolicy } from 'cockatiel';
import type { StreamPart } from '../types.js';
import { raceAbort } from './abort.js';

export const TIMED_OUT = Symbol('timed out');

/**
 * The upstream's next part within the policy's time limit. Resolves TIMED_OUT when the limit
 * passes; rejects with the outer signal's reason when the request stops; a pending `next()` is
 * abandoned (the caller aborts the upstream call).
 */
export function nextPart(
  limit: TimeoutPolicy,
  iterator: AsyncIterator<StreamPart>,
  outer: AbortSignal,
): Promise<IteratorResult<StreamPart> | typeof TIMED_OUT> {
  return limit.execute(async ({ signal }) => {
    try {
      return await raceAbort(iterator.next(), signal);
    } catch (error) {
      if (signal.aborted && !outer.aborted) return TIMED_OUT;
      throw error;
    }
  }, outer);
}
