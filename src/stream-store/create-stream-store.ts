import type { Logger } from '../logger.js';
import { noCrashTails, sharedStoreTails } from './crash-tail.js';
import { createDeltaJournal } from './delta-journal.js';
import { createLayeredStreamStore } from './layered-stream-store.js';
import { createMemoryStreamStore } from './memory-stream-store.js';
import { createRedisStreamStore, type RedisStreamStoreClients } from './redis-stream-store.js';
import type { MessageStreams, StreamStoreOptions } from './types.js';

/** How long this process keeps an ended local stream for late local readers; Redis keeps it longer. */
const LOCAL_ENDED_TTL_MS = 30_000;

export interface MessageStreamStoreDeps {
  /** Unset: one process, the memory buffer alone. */
  redis: RedisStreamStoreClients | undefined;
  options: Required<StreamStoreOptions>;
  logger: Pick<Logger, 'warn'>;
  /** Without Redis: where running messages journal their deltas (embedded data directory); unset: nowhere. */
  journalDir?: string | undefined;
}

/**
 * The stream buffer of this process: with Redis, Redis Streams so that any instance can serve
 * any subscriber, layered under a local buffer for this process's own generations, and the
 * shared stream outlives a writer that dies; without, the memory buffer, whose deltas survive a
 * crash only in the journal (see delta-journal.ts).
 */
export function createMessageStreams({ redis, options, logger, journalDir }: MessageStreamStoreDeps): MessageStreams {
  if (!redis) {
    const local = createMemoryStreamStore(options);
    if (!journalDir) return { store: local, tails: noCrashTails };
    const journal = createDeltaJournal(journalDir, logger);
    return { store: journal.wrap(local), tails: journal };
  }
  const shared = createRedisStreamStore(redis, options);
  const local = createMemoryStreamStore({ ...options, endedTtlMs: Math.min(options.endedTtlMs, LOCAL_ENDED_TTL_MS) });
  return { store: createLayeredStreamStore(local, shared, { logger }), tails: sharedStoreTails(shared) };
}
