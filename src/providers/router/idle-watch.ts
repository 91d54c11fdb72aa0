import type { StreamPart } from '../types.js';
import { TIMED_OUT } from './next-part.js';

/** Waits for a stream's parts, each within `ms` of asking for it. */
export interface IdleWatch {
  next(iterator: AsyncIterator<StreamPart>): Promise<IteratorResult<StreamPart> | typeof TIMED_OUT>;
  dispose(): void;
}

type Waiter = {
  settle: (outcome: IteratorResult<StreamPart> | typeof TIMED_OUT) => void;
  fail: (error: unknown) => void;
};

/**
 * One timer and one abort listener for a whole stream, re-armed at every wait: a timeout policy,
 * or even adding and removing a listener, per part costs enough per token to show at high
 * concurrency. Time the consumer spends between parts does not count. Resolves TIMED_OUT when a
 * wait runs out; rejects with the outer signal's reason when the request stops. A pending
 * `next()` of the iterator is abandoned then (the caller aborts the upstream call).
 */
export function createIdleWatch(ms: number, outer: AbortSignal): IdleWatch {
  let waiter: Waiter | undefined;
  const take = () => {
    const current = waiter;
    waiter = undefined;
    return current;
  };
  const timer = setTimeout(() => take()?.settle(TIMED_OUT), ms);
  const onAbort = () => take()?.fail(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  return {
    next(iterator) {
      if (outer.aborted) return Promise.reject(outer.reason);
      timer.refresh();
      const pending = new Promise<IteratorResult<StreamPart> | typeof TIMED_OUT>((settle, fail) => {
        waiter = { settle, fail };
      });
      const mine = waiter;
      iterator.next().then(
        (result) => waiter === mine && take()?.settle(result),
        (error: unknown) => waiter === mine && take()?.fail(error),
      );
      return pending;
    },
    dispose: () => {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    },
  };
}
