import { randomUUID } from 'node:crypto';
import type { ConfigFile } from '../config-file.js';
import type { Db } from '../db/database.js';
import type { SqlRunner } from '../db/sql-runner.js';
import type { Logger } from '../logger.js';
import type { MemoryService } from '../memory/memory-service.js';
import type { ProviderGateway } from '../providers/gateway.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { RedisClients } from '../pubsub/redis-clients.js';
import type { DocumentService } from '../rag/document-service.js';
import { type ChatService, createChatService } from './chat-service.js';
import { createGenerationRunner } from './generation-runner.js';
import { createLiveness, type Liveness } from './liveness.js';
import { createLayeredStreamStore, createMemoryStreamStore, createRedisStreamStore } from './stream-store/index.js';

/** How long this process keeps an ended local stream for late local readers; Redis keeps it longer. */
const LOCAL_ENDED_TTL_MS = 30_000;

export interface ChatModule {
  service: ChatService;
  liveness: Liveness;
  /** Ends local generations as INTERRUPTED, then stops listening. */
  close(): Promise<void>;
}

export interface ChatModuleDeps {
  db: Db;
  /** Writes each turn's rows and its end: two statements per chat, the hottest writes. */
  sql: SqlRunner;
  providers: ProviderGateway;
  redis: RedisClients | undefined;
  pubsub: PubSub;
  logger: Logger;
  settings: ConfigFile['chat'];
  documents: DocumentService;
  memory: MemoryService;
}

/**
 * Wires the chat parts: the stream buffer (with Redis, Redis Streams so that any instance can
 * serve any subscriber, layered under a local buffer for this process's own generations; memory
 * otherwise), the generation runner, liveness, and
 * cancellation across instances over pub/sub.
 */
export function createChatModule(deps: ChatModuleDeps): ChatModule {
  const { db, sql, providers, redis, pubsub, logger, settings } = deps;
  const instanceId = randomUUID();
  const storeOptions = { maxDeltas: settings.maxBufferedDeltas, endedTtlMs: settings.endedStreamTtlMs };
  const store = redis
    ? createLayeredStreamStore(
        createMemoryStreamStore({ ...storeOptions, endedTtlMs: Math.min(storeOptions.endedTtlMs, LOCAL_ENDED_TTL_MS) }),
        createRedisStreamStore({ command: redis.command, subscriber: redis.streamSubscriber }, storeOptions),
      )
    : createMemoryStreamStore(storeOptions);
  const runner = createGenerationRunner({ db, sql, router: providers.router, store, logger, settings });
  const liveness = createLiveness({ db, store, logger, instanceId, settings, running: () => runner.running });

  const cancels = pubsub.subscribe('cancelMessage');
  (async () => {
    for await (const messageId of cancels) runner.cancel(messageId);
  })().catch((error) => logger.error('cancel listener stopped', { error }));

  const service = createChatService({
    db,
    sql,
    router: providers.router,
    monitor: providers.monitor,
    store,
    runner,
    instanceId,
    settings,
    documents: deps.documents,
    memory: deps.memory,
    requestCancel: async (messageId) => pubsub.publish('cancelMessage', messageId),
  });

  return {
    service,
    liveness,
    async close() {
      liveness.stop();
      await runner.stop();
      await cancels.return?.();
      await store.close();
    },
  };
}
