/**
 * One reader's queue of live notices. Bounded: when a slow reader lets `capacity` pile up, the
 * queue is dropped and marked stale, and the reader re-reads the stream at its own pace instead,
 * so memory stays flat and the writer never waits.
 */
export interface NoticeInbox<T> {
  push(value: T): void;
  /** Asks the reader to re-read the stream (overflow, reconnect). */
  markStale(): void;
  /** True once after `markStale` or an overflow. */
  takeStale(): boolean;
  shift(): T | undefined;
  /** Resolves on the next push, stale mark or close, or when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void>;
  close(): void;
  readonly closed: boolean;
}

export function createNoticeInbox<T>(capacity: number): NoticeInbox<T> {
  let queue: T[] = [];
  let head = 0;
  let stale = false;
  let closed = false;
  let wake: (() => void) | undefined;

  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  return {
    push(value) {
      if (closed) return;
      if (queue.length - head >= capacity) {
        queue = [];
        head = 0;
        stale = true;
      } else {
        queue.push(value);
      }
      notify();
    },
    markStale() {
      stale = true;
      notify();
    },
    takeStale() {
      const was = stale;
      stale = false;
      return was;
    },
    shift() {
      if (head === queue.length) return undefined;
      const value = queue[head++];
      // Compact now and then rather than shifting the array on every take.
      if (head === queue.length || head >= 1024) {
        queue = queue.slice(head);
        head = 0;
      }
      return value;
    },
    wait(signal) {
      if (closed || stale || head < queue.length || signal?.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          if (wake === done) wake = undefined;
          resolve();
        };
        wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    },
    close() {
      closed = true;
      notify();
    },
    get closed() {
      return closed;
    },
  };
}
