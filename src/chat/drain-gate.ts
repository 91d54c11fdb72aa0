import { AppError } from '../errors.js';

/**
 * What a shutdown needs to know about chat traffic: whether new generations are still taken,
 * and which messages still have a reader here (so it waits for their terminal events before it
 * closes the sockets they travel on).
 */
export interface DrainGate {
  /** Throws SHUTTING_DOWN once the drain began. */
  assertOpen(): void;
  /** Refuses new generations from now on; readers are still served. */
  close(): void;
  readonly closed: boolean;
  /** Counts one reader of `messageId` until the returned function is called. */
  enter(messageId: string): () => void;
  /** Resolves when no reader of these messages is open any more, or when `signal` aborts. */
  readersDone(messageIds: Iterable<string>, signal: AbortSignal): Promise<void>;
}

/** Shutting down is not a fault of the request: the client sends again and another instance takes it. */
export const shuttingDown = () =>
  new AppError('SHUTTING_DOWN', 'This server is shutting down; send the message again', { retryAfterMs: 1_000 });

export function createDrainGate(): DrainGate {
  let closed = false;
  const readers = new Map<string, number>();
  const listeners = new Set<() => void>();

  return {
    assertOpen() {
      if (closed) throw shuttingDown();
    },
    close() {
      closed = true;
    },
    get closed() {
      return closed;
    },
    enter(messageId) {
      readers.set(messageId, (readers.get(messageId) ?? 0) + 1);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        const count = (readers.get(messageId) ?? 1) - 1;
        if (count > 0) readers.set(messageId, count);
        else readers.delete(messageId);
        for (const listener of listeners) listener();
      };
    },
    readersDone(messageIds, signal) {
      const ids = [...messageIds];
      return new Promise<void>((resolve) => {
        const check = () => {
          if (!signal.aborted && ids.some((id) => readers.has(id))) return;
          listeners.delete(check);
          signal.removeEventListener('abort', check);
          resolve();
        };
        listeners.add(check);
        signal.addEventListener('abort', check, { once: true });
        check();
      });
    },
  };
}
