import type { Logger } from '../logger.js';
import { createLayeredStreamStore } from './layered-stream-store.js';
import { createMemoryStreamStore } from './memory-stream-store.js';
import { createRedisStreamStore, type RedisStreamStoreClients } from './redis-stream-store.js';
import type { LocalStreamStore, MessageStreamStore, StreamStoreOptions } from './types.js';

/** How long this process keeps an ended local stream for late local readers; Redis keeps it longer. */
const LOCAL_ENDED_TTL_MS = 30_000;

export interface MessageStreamStoreDeps {
  /** Unset: one process, the memory buffer alone. */
  redis: RedisStreamStoreClients | undefined;
  options: Required<StreamStoreOptions>;
  logger: Pick<Logger, 'warn'>;
  /** Wraps the buffer of a process without Redis (its delta journal). */
  wrapLocal?: (store: LocalStreamStore) => LocalStreamStore;
}

export interface MessageStreamStores {
  /** What the generations write and the readers follow. */
  store: MessageStreamStore;
  /** The store shared between instances, which outlives the instance that wrote it (Redis); unset without. */
  shared: MessageStreamStore | undefined;
}

/**
 * The stream buffer of this process: with Redis, Redis Streams so that any instance can serve
 * any subscriber, layered under a local buffer for this process's own generations; memory
 * otherwise.
 */
export function createMessageStreamStore({
  redis,
  options,
  logger,
  wrapLocal,
}: MessageStreamStoreDeps): MessageStreamStores {
  if (!redis) {
    const local = createMemoryStreamStore(options);
    return { store: wrapLocal ? wrapLocal(local) : local, shared: undefined };
  }
  const shared = createRedisStreamStore(redis, options);
  const local = createMemoryStreamStore({ ...options, endedTtlMs: Math.min(options.endedTtlMs, LOCAL_ENDED_TTL_MS) });
  return { store: createLayeredStreamStore(local, shared, { logger }), shared };
}
