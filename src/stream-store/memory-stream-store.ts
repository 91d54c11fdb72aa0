import { assertAfterSeq, assertSeq } from './seq-checks.js';
import {
  type LocalStreamStore,
  type MessageEnd,
  type MessageStreamEvent,
  SeqConflictError,
  StreamLagError,
  type StreamStoreOptions,
} from './types.js';

interface Buffered {
  /** `texts[i]` is delta `baseSeq + i`; entries before `head` are trimmed. */
  texts: string[];
  baseSeq: number;
  head: number;
  lastSeq: number;
  end?: MessageEnd;
}

const oldestKept = (stream: Buffered) => stream.baseSeq + stream.head;

/**
 * The stream buffer of a single instance without Redis: a bounded array of deltas per message,
 * readers woken on append (no polling). Ended streams are dropped `endedTtlMs` after their end.
 *
 * @example const store = createMemoryStreamStore({ maxDeltas: 10_000 });
 */
export function createMemoryStreamStore(options: StreamStoreOptions = {}): LocalStreamStore {
  const maxDeltas = options.maxDeltas ?? 50_000;
  const endedTtlMs = options.endedTtlMs ?? 5 * 60_000;
  const streams = new Map<string, Buffered>();
  /** Keyed by message rather than kept on the stream: a reader may wait before the first append. */
  const waiters = new Map<string, Set<() => void>>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const streamOf = (messageId: string) => {
    let stream = streams.get(messageId);
    if (!stream) {
      stream = { texts: [], baseSeq: 1, head: 0, lastSeq: 0 };
      streams.set(messageId, stream);
    }
    return stream;
  };

  const wake = (messageId: string) => {
    const set = waiters.get(messageId);
    if (!set) return;
    waiters.delete(messageId);
    for (const resolve of set) resolve();
  };

  /** Resolves on the message's next change, or on abort; either way the waiter is removed. */
  const changed = (messageId: string, signal: AbortSignal | undefined) =>
    new Promise<void>((resolve) => {
      let set = waiters.get(messageId);
      if (!set) {
        set = new Set();
        waiters.set(messageId, set);
      }
      const waiting = set;
      const done = () => {
        signal?.removeEventListener('abort', done);
        waiting.delete(done);
        if (waiting.size === 0 && waiters.get(messageId) === waiting) waiters.delete(messageId);
        resolve();
      };
      waiting.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });

  const trim = (stream: Buffered) => {
    if (stream.lastSeq - oldestKept(stream) + 1 <= maxDeltas) return;
    stream.head++;
    // Cut the dead prefix once it is as long as the live part: O(1) amortised per append.
    if (stream.head >= maxDeltas) {
      stream.texts.splice(0, stream.head);
      stream.baseSeq += stream.head;
      stream.head = 0;
    }
  };

  return {
    begin(messageId) {
      streamOf(messageId);
    },

    has: (messageId) => streams.has(messageId),

    async appendDelta({ messageId, seq, text }) {
      assertSeq(seq);
      const stream = streamOf(messageId);
      // A late delta after a cancel or a sweep ended the stream: the end stands.
      if (stream.end) return;
      if (seq !== stream.lastSeq + 1) throw new SeqConflictError(messageId, seq, stream.lastSeq);
      stream.texts.push(text);
      stream.lastSeq = seq;
      trim(stream);
      wake(messageId);
    },

    async end(event) {
      const { messageId } = event;
      const stream = streamOf(messageId);
      if (stream.end) return;
      // Kept as a Redis Stream keeps it: without the finished row, which readers load themselves.
      const { message: _row, ...end } = event;
      stream.end = end;
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (streams.get(messageId) === stream) streams.delete(messageId);
      }, endedTtlMs);
      timer.unref();
      timers.add(timer);
      wake(messageId);
    },

    async *read(messageId, afterSeq, signal): AsyncGenerator<MessageStreamEvent> {
      assertAfterSeq(afterSeq);
      let last = afterSeq;
      let seen = false;
      // State is re-read after every yield: the buffer may have grown, been trimmed or dropped meanwhile.
      while (!closed && !signal?.aborted) {
        const stream = streams.get(messageId);
        if (stream) {
          seen = true;
          if (last < stream.lastSeq) {
            const oldest = oldestKept(stream);
            if (last + 1 < oldest) throw new StreamLagError(messageId, last, oldest);
            last++;
            yield { kind: 'delta', messageId, seq: last, text: stream.texts[last - stream.baseSeq] as string };
            continue;
          }
          if (stream.end) {
            yield { ...stream.end };
            return;
          }
        } else if (seen) {
          // Dropped after its end while this reader lagged: the stored message has the rest.
          throw new StreamLagError(messageId, last, last + 1);
        }
        await changed(messageId, signal);
      }
    },

    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const messageId of [...waiters.keys()]) wake(messageId);
      streams.clear();
    },
  };
}
