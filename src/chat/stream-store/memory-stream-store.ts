import {
  type EndEvent,
  type MessageStreamStore,
  type StreamEvent,
  StreamLagError,
  type StreamStoreOptions,
} from './types.js';

interface Buffered {
  /** `deltas[i]` is the text of seq `firstSeq + i`. */
  deltas: string[];
  firstSeq: number;
  lastSeq: number;
  end?: EndEvent;
}

/**
 * The stream buffer of a single instance without Redis: bounded arrays in memory, readers
 * woken on append (no polling). Ended streams are dropped `endedTtlMs` after their end.
 */
export function createMemoryStreamStore(options: StreamStoreOptions = {}): MessageStreamStore {
  const maxDeltas = options.maxDeltas ?? 50_000;
  const endedTtlMs = options.endedTtlMs ?? 300_000;
  const streams = new Map<string, Buffered>();
  const waiters = new Map<string, Set<() => void>>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const wake = (messageId: string) => {
    const set = waiters.get(messageId);
    if (!set) return;
    waiters.delete(messageId);
    for (const resolve of set) resolve();
  };

  const changed = (messageId: string, signal: AbortSignal | undefined) =>
    new Promise<void>((resolve) => {
      const set = waiters.get(messageId) ?? new Set();
      waiters.set(messageId, set);
      const done = () => {
        set.delete(resolve);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      set.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });

  return {
    async appendDelta(messageId, seq, text) {
      const stream = streams.get(messageId) ?? { deltas: [], firstSeq: 1, lastSeq: 0 };
      streams.set(messageId, stream);
      if (stream.end) return;
      if (seq !== stream.lastSeq + 1) throw new Error(`delta ${seq} of ${messageId} follows ${stream.lastSeq}`);
      stream.deltas.push(text);
      stream.lastSeq = seq;
      const excess = stream.deltas.length - maxDeltas;
      if (excess > 0) {
        stream.deltas.splice(0, excess);
        stream.firstSeq += excess;
      }
      wake(messageId);
    },

    async end(messageId, event) {
      const stream = streams.get(messageId) ?? { deltas: [], firstSeq: 1, lastSeq: 0 };
      streams.set(messageId, stream);
      if (stream.end) return;
      stream.end = event;
      const timer = setTimeout(() => {
        timers.delete(timer);
        streams.delete(messageId);
      }, endedTtlMs);
      timer.unref();
      timers.add(timer);
      wake(messageId);
    },

    async *read(messageId, afterSeq, signal): AsyncGenerator<StreamEvent> {
      let next = afterSeq + 1;
      let seen = false;
      while (!closed && !signal?.aborted) {
        const stream = streams.get(messageId);
        if (stream) {
          seen = true;
          if (next <= stream.lastSeq) {
            if (next < stream.firstSeq) throw new StreamLagError(messageId, next - 1, stream.firstSeq);
            yield { type: 'delta', seq: next, text: stream.deltas[next - stream.firstSeq] as string };
            next++;
            continue;
          }
          if (stream.end) {
            yield { ...stream.end };
            return;
          }
        } else if (seen) {
          // Dropped after its end while this reader lagged: what it missed is in the database.
          throw new StreamLagError(messageId, next - 1, next);
        }
        await changed(messageId, signal);
      }
    },

    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const id of [...waiters.keys()]) wake(id);
      streams.clear();
    },
  };
}
