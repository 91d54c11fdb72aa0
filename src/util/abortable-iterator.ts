import { NO_LONGER_NEEDED } from './no-longer-needed.js';

/**
 * Wraps an iterable produced for a signal so that `return()` (a client unsubscribing) aborts
 * the signal at once, even while the producer is waiting inside `next()`.
 */
export function abortableIterator<T>(produce: (signal: AbortSignal) => AsyncIterable<T>): AsyncIterableIterator<T> {
  const controller = new AbortController();
  const inner = produce(controller.signal)[Symbol.asyncIterator]();
  const finish = async (): Promise<IteratorResult<T>> => {
    controller.abort(NO_LONGER_NEEDED);
    await inner.return?.();
    return { done: true, value: undefined };
  };
  return {
    next: () => inner.next(),
    return: finish,
    throw: async (error) => {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
