import type { Redis } from 'ioredis';
import type { NoticeInbox } from './notice-inbox.js';
import { createChannelHub } from './redis-channel-hub.js';
import { decodeEntries, decodeNotice, encodeEvent, type PlacedEvent, streamKey } from './redis-stream-codec.js';
import { readRedisStream } from './redis-stream-reader.js';
import { APPEND_DELTA, APPEND_END, runScript } from './redis-stream-scripts.js';
import { assertSeq } from './seq-checks.js';
import { type MessageDelta, type MessageStreamStore, SeqConflictError, type StreamStoreOptions } from './types.js';

/** Entries per XRANGE when `buffered` collects a dead writer's deltas. */
const BUFFERED_PAGE = 500;

export interface RedisStreamStoreClients {
  /** Runs the scripts and XRANGEs; may be shared with other components. */
  command: Redis;
  /** A subscriber-mode connection; may be shared, messages on others' channels are ignored. */
  subscriber: Redis;
}

export interface RedisStreamStoreOptions extends StreamStoreOptions {
  /** Expiry set on the first delta, so a stream whose writer died unended still goes away. */
  abandonedTtlMs?: number;
  /** Live notices a reader buffers before it drops them and re-reads the stream instead. */
  maxQueuedNotices?: number;
}

/**
 * The stream buffer shared by every instance: a Redis Stream per message (`switchyard:stream:<id>`)
 * whose entry IDs come from seq (delta n is `n-0`, the end `<last seq>-1`), so ordering and
 * replay need no other state. Each append publishes the event on the key's channel; readers
 * share one subscriber connection and read the stream only to catch up or fill a gap.
 *
 * @example createRedisStreamStore({ command: redis.command, subscriber: redis.streamSubscriber })
 */
export function createRedisStreamStore(
  { command, subscriber }: RedisStreamStoreClients,
  options: RedisStreamStoreOptions = {},
): MessageStreamStore {
  const maxDeltas = options.maxDeltas ?? 50_000;
  const endedTtlMs = options.endedTtlMs ?? 5 * 60_000;
  const abandonedTtlMs = options.abandonedTtlMs ?? 24 * 60 * 60_000;
  const maxQueuedNotices = options.maxQueuedNotices ?? 1024;
  const hub = createChannelHub(subscriber, decodeNotice);
  const inboxes = new Set<NoticeInbox<PlacedEvent>>();
  let closed = false;

  return {
    // The stream key comes into being with its first entry.
    begin() {},

    async appendDelta(delta) {
      const { messageId, seq } = delta;
      assertSeq(seq);
      const event = encodeEvent(delta);
      try {
        await runScript(command, APPEND_DELTA, streamKey(messageId), [seq, event, maxDeltas, abandonedTtlMs]);
      } catch (error) {
        const conflict = error instanceof Error ? /does not follow (\d+)/.exec(error.message) : null;
        if (conflict) throw new SeqConflictError(messageId, seq, Number(conflict[1]));
        throw error;
      }
    },

    async end(event) {
      await runScript(command, APPEND_END, streamKey(event.messageId), [encodeEvent(event), endedTtlMs]);
    },

    read(messageId, afterSeq, signal) {
      const ctx = { command, hub, inboxes, maxQueuedNotices, closed: () => closed };
      return readRedisStream(ctx, messageId, afterSeq, signal);
    },

    async buffered(messageId, afterSeq) {
      const deltas: MessageDelta[] = [];
      for (let after = afterSeq; ; ) {
        const page = decodeEntries(
          messageId,
          await command.xrange(streamKey(messageId), `(${after}-0`, '+', 'COUNT', BUFFERED_PAGE),
        );
        for (const { event } of page) if (event.kind === 'delta') deltas.push(event);
        if (page.length < BUFFERED_PAGE) return deltas;
        after = (page.at(-1) as PlacedEvent).pos;
      }
    },

    async streaming(messageId) {
      const [last] = decodeEntries(messageId, await command.xrevrange(streamKey(messageId), '+', '-', 'COUNT', 1));
      return last?.event.kind === 'delta';
    },

    async close() {
      closed = true;
      for (const inbox of inboxes) inbox.close();
      inboxes.clear();
      hub.close();
    },
  };
}
