import type { Logger } from '../logger.js';
import { createSharedWriteQueue } from './shared-write-queue.js';
import { type LocalStreamStore, type MessageDelta, type MessageStreamStore, SeqConflictError } from './types.js';

export interface LayeredStreamStoreOptions {
  /** Wait before retry `attempt` of a shared write that failed. */
  retryDelayMs?: (attempt: number) => number;
  /** How long `close` waits for shared writes held back by an outage before giving them up. */
  closeTimeoutMs?: number;
  logger?: Pick<Logger, 'warn'>;
}

/** How long a refill may wait on the local buffer: it holds what is asked for, so only a bug waits. */
const REFILL_TIMEOUT_MS = 1_000;

/**
 * Generations running in this process are written to a local buffer and to the shared one; a
 * reader here follows the local buffer (no Redis round trip between a token and its
 * subscriber), a reader of a generation elsewhere follows the shared one. Shared writes go out
 * in order without holding up the local readers, and a failed one (Redis unreachable) is
 * retried until it lands: an outage delays the other instances' readers, it never fails the
 * generation or loses a delta, and the end is written after every delta before it.
 */
export function createLayeredStreamStore(
  local: LocalStreamStore,
  shared: MessageStreamStore,
  options: LayeredStreamStoreOptions = {},
): MessageStreamStore {
  const { logger } = options;
  const queue = createSharedWriteQueue({
    retryDelayMs: options.retryDelayMs,
    onFailing: (messageId, error) =>
      logger?.warn('shared stream write failed; retrying', { messageId, error: (error as Error).message }),
  });

  /** Rewrites deltas `after + 1 .. before - 1` from the local buffer, which the shared one lost. */
  const refill = async (messageId: string, after: number, before: number) => {
    if (!local.has(messageId)) return false;
    let next = after + 1;
    try {
      for await (const event of local.read(messageId, after, AbortSignal.timeout(REFILL_TIMEOUT_MS))) {
        if (event.kind !== 'delta' || event.seq >= before) break;
        await shared.appendDelta(event);
        next = event.seq + 1;
      }
    } catch (error) {
      if (error instanceof SeqConflictError) throw error;
      return false; // trimmed here too: the shared stream keeps its gap, its readers are told they lagged
    }
    return next === before;
  };

  /** Writes a delta, accepting that an attempt whose reply was lost already landed. */
  const share = async (delta: MessageDelta) => {
    const { messageId, seq } = delta;
    try {
      await shared.appendDelta(delta);
    } catch (error) {
      if (!(error instanceof SeqConflictError)) throw error; // retried by the queue
      if (error.lastSeq >= seq) return; // an earlier attempt landed and its reply was lost
      // The shared stream is missing deltas it had (Redis restarted without its data).
      if (!(await refill(messageId, error.lastSeq, seq))) {
        logger?.warn('shared stream lost deltas that this process no longer holds', { messageId, seq });
        return;
      }
      await shared.appendDelta(delta);
    }
  };

  return {
    begin(messageId) {
      local.begin(messageId);
      shared.begin(messageId);
    },

    async appendDelta(delta) {
      await local.appendDelta(delta);
      queue.push(delta.messageId, () => share(delta));
    },

    async end(event) {
      const { messageId } = event;
      // Not written here (a sweep, a delete on behalf of another instance): the shared end is the one.
      if (local.has(messageId)) await local.end(event);
      queue.push(messageId, () => shared.end(event));
      await queue.settled(messageId);
    },

    read(messageId, afterSeq, signal) {
      return local.has(messageId) ? local.read(messageId, afterSeq, signal) : shared.read(messageId, afterSeq, signal);
    },

    ...(shared.streaming ? { streaming: shared.streaming.bind(shared) } : {}),

    async close() {
      const left = await queue.close(options.closeTimeoutMs ?? 5_000);
      if (left.length > 0) logger?.warn('shared stream writes given up at close', { messages: left.length });
      await Promise.all([local.close(), shared.close()]);
    },
  };
}
