import type { StreamPart } from '../types.js';
import { raceAbort } from './abort.js';
import { TIMED_OUT } from './next-part.js';

/** Waits for a stream's parts, each within `ms` of asking for it. */
export interface IdleWatch {
  next(iterator: AsyncIterator<StreamPart>): Promise<IteratorResult<StreamPart> | typeof TIMED_OUT>;
  dispose(): void;
}

/**
 * One timer and one signal for a whole stream, re-armed at every wait: a timeout policy per part
 * costs an AbortController, listeners and a DOMException per token, which shows at high concurrency.
 * Time the consumer spends between parts does not count. Resolves TIMED_OUT when a wait runs
 * out; rejects with the outer signal's reason when the request stops.
 */
export function createIdleWatch(ms: number, outer: AbortSignal): IdleWatch {
  const idle = new AbortController();
  let waiting = false;
  const timer = setTimeout(() => waiting && idle.abort(TIMED_OUT), ms);
  const signal = AbortSignal.any([outer, idle.signal]);
  return {
    async next(iterator) {
      timer.refresh();
      waiting = true;
      try {
        return await raceAbort(iterator.next(), signal);
      } catch (error) {
        if (idle.signal.aborted && !outer.aborted) return TIMED_OUT;
        throw error;
      } finally {
        waiting = false;
      }
    },
    dispose: () => clearTimeout(timer),
  };
}
