import { setTimeout as delay } from 'node:timers/promises';
import { type Redis, ReplyError } from 'ioredis';
import { createNoticeInbox, type NoticeInbox } from './notice-inbox.js';
import type { ChannelHub } from './redis-channel-hub.js';
import { decodeEntries, type PlacedEvent, streamKey } from './redis-stream-codec.js';
import { assertAfterSeq } from './seq-checks.js';
import { type MessageStreamEvent, StreamLagError } from './types.js';

/** Entries per XRANGE: a reader far behind catches up in pages, not in one huge reply. */
const PAGE = 500;

/** Wait before retry `attempt` of a command that found Redis unreachable. */
const retryDelayMs = (attempt: number) => Math.min(100 * 2 ** attempt, 1_000);

/** Returned by `answered` when the reader was stopped while Redis was unreachable. */
const STOPPED = Symbol('stopped');

export interface RedisReaderContext {
  command: Redis;
  hub: ChannelHub<PlacedEvent>;
  /** Open readers' inboxes, so that closing the store ends them. */
  inboxes: Set<NoticeInbox<PlacedEvent>>;
  maxQueuedNotices: number;
  closed(): boolean;
}

/**
 * Subscribe, then read, then follow: notices are buffered from the moment the subscription is
 * confirmed, so every entry is either in the XRANGE reply or announced afterwards. A notice
 * already yielded is skipped, the next one is yielded directly, and a gap (a lost notice, an
 * overflowed inbox, a reconnect) is filled from the stream. Hence no duplicate and no hole,
 * however the reader's start races the writer.
 */
export async function* readRedisStream(
  ctx: RedisReaderContext,
  messageId: string,
  afterSeq: number,
  signal?: AbortSignal,
): AsyncGenerator<MessageStreamEvent> {
  assertAfterSeq(afterSeq);
  if (signal?.aborted || ctx.closed()) return;
  const key = streamKey(messageId);
  const inbox = createNoticeInbox<PlacedEvent>(ctx.maxQueuedNotices);
  ctx.inboxes.add(inbox);
  let stop: (() => void) | undefined;

  /**
   * Runs a command until Redis answers it: an outage is waited out (ioredis reconnects by itself,
   * and the writer's deltas land when it is back), an error reply is thrown. STOPPED when the
   * reader was stopped meanwhile.
   */
  const answered = async <T>(command: () => Promise<T>): Promise<T | typeof STOPPED> => {
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted || ctx.closed()) return STOPPED;
      try {
        return await command();
      } catch (error) {
        if (error instanceof ReplyError) throw error;
        await delay(retryDelayMs(attempt), undefined, { signal }).catch(() => {});
      }
    }
  };
  const range = async (after: number) => {
    const reply = await answered(() => ctx.command.xrange(key, `(${after}-0`, '+', 'COUNT', PAGE));
    return reply === STOPPED ? undefined : decodeEntries(messageId, reply);
  };
  const tail = async () => {
    const reply = await answered(() => ctx.command.xrevrange(key, '+', '-', 'COUNT', 1));
    return reply === STOPPED ? undefined : decodeEntries(messageId, reply)[0];
  };

  try {
    const listening = await answered(() =>
      ctx.hub.listen(key, { notice: (n) => inbox.push(n), resync: () => inbox.markStale() }),
    );
    if (listening === STOPPED) return;
    stop = listening;
    let last = afterSeq;
    /** The furthest position a notice announced: a fill that finds nothing there means the key is gone. */
    let announced = afterSeq;
    let fill = true;
    let first = true;
    while (!signal?.aborted && !inbox.closed) {
      if (fill || inbox.takeStale()) {
        fill = false;
        const entries = await range(last);
        if (!entries) return;
        if (entries.length === 0) {
          // Asked past the end of an ended stream (XRANGE starts after it): the end still applies.
          const end = first ? await tail() : undefined;
          if (end && end.event.kind !== 'delta') {
            yield end.event;
            return;
          }
          // Announced entries vanished: the ended stream expired while this reader lagged.
          if (announced > last) throw new StreamLagError(messageId, last, last + 1);
        }
        first = false;
        for (const { pos, event } of entries) {
          if (signal?.aborted) return;
          if (event.kind !== 'delta') {
            if (pos !== last) throw new StreamLagError(messageId, last, pos + 1);
            yield event;
            return;
          }
          if (pos !== last + 1) throw new StreamLagError(messageId, last, pos);
          yield event;
          last = pos;
        }
        if (entries.length === PAGE) fill = true;
        continue;
      }

      const notice = inbox.shift();
      if (!notice) {
        await inbox.wait(signal);
        continue;
      }
      announced = Math.max(announced, notice.pos);
      if (notice.event.kind !== 'delta') {
        // pos < last only when the reader asked past the end; it still ends there.
        if (notice.pos > last) fill = true;
        else {
          yield notice.event;
          return;
        }
      } else if (notice.pos === last + 1) {
        yield notice.event;
        last = notice.pos;
      } else if (notice.pos > last + 1) {
        fill = true;
      }
    }
  } finally {
    ctx.inboxes.delete(inbox);
    stop?.();
  }
}
