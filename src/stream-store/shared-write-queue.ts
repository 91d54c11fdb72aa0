import { setTimeout as delay } from 'node:timers/promises';

/**
 * Per-message writes to the shared buffer, in order, each retried until it lands: an outage of
 * the shared store holds the writes back instead of losing them or failing the generation.
 */
export interface SharedWriteQueue {
  /** Queues `write` behind the message's earlier writes. */
  push(messageId: string, write: () => Promise<void>): void;
  /**
   * Resolves once the message's queued writes are done, or as soon as one of them fails (it is
   * then retried in the background): a caller never waits out an outage.
   */
  settled(messageId: string): Promise<void>;
  /** Messages with writes still queued. */
  readonly pending: number;
  /** Waits up to `ms` for every queue to empty, then stops retrying; returns the messages left unwritten. */
  close(ms: number): Promise<string[]>;
}

export interface SharedWriteQueueOptions {
  /** Wait before retry `attempt` (0, 1, 2 ...) of a failing write. */
  retryDelayMs?: (attempt: number) => number;
  /** Called when a message's writes start failing (once per outage), e.g. for a log line. */
  onFailing?: (messageId: string, error: unknown) => void;
}

interface Queue {
  writes: (() => Promise<void>)[];
  head: number;
  failing: boolean;
  waiters: (() => void)[];
  done: Promise<void>;
}

const defaultDelay = (attempt: number) => Math.min(100 * 2 ** attempt, 1_000);

export function createSharedWriteQueue(options: SharedWriteQueueOptions = {}): SharedWriteQueue {
  const retryDelayMs = options.retryDelayMs ?? defaultDelay;
  const queues = new Map<string, Queue>();
  const stopping = new AbortController();

  const wake = (queue: Queue) => {
    for (const resolve of queue.waiters.splice(0)) resolve();
  };

  async function drain(messageId: string, queue: Queue) {
    let attempt = 0;
    while (queue.head < queue.writes.length && !stopping.signal.aborted) {
      try {
        await (queue.writes[queue.head] as () => Promise<void>)();
        queue.writes[queue.head++] = noop; // let the closure go; compacted below
        attempt = 0;
        queue.failing = false;
        if (queue.head >= 1024) {
          queue.writes.splice(0, queue.head);
          queue.head = 0;
        }
      } catch (error) {
        if (!queue.failing) options.onFailing?.(messageId, error);
        queue.failing = true;
        wake(queue);
        await delay(retryDelayMs(attempt++), undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
    if (queues.get(messageId) === queue) queues.delete(messageId);
    wake(queue);
  }

  return {
    push(messageId, write) {
      if (stopping.signal.aborted) return;
      const queue = queues.get(messageId);
      if (queue) {
        queue.writes.push(write);
        return;
      }
      const fresh: Queue = { writes: [write], head: 0, failing: false, waiters: [], done: Promise.resolve() };
      queues.set(messageId, fresh);
      fresh.done = drain(messageId, fresh);
    },

    settled(messageId) {
      const queue = queues.get(messageId);
      if (!queue || queue.failing) return Promise.resolve();
      return new Promise((resolve) => queue.waiters.push(resolve));
    },

    get pending() {
      return queues.size;
    },

    async close(ms) {
      const all = Promise.all([...queues.values()].map((queue) => queue.done));
      const timeout = new AbortController();
      await Promise.race([all, delay(ms, undefined, { signal: timeout.signal }).catch(() => {})]);
      timeout.abort();
      const left = [...queues.keys()];
      // A write in flight finishes (or fails) on its own; nothing after it is attempted.
      stopping.abort();
      for (const queue of queues.values()) wake(queue);
      queues.clear();
      return left;
    },
  };
}

const noop = async () => {};
