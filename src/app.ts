import { join } from 'node:path';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { createProviderCatalog } from './catalog/provider-catalog.js';
import { createChatModule } from './chat/chat-module.js';
import { isLoopbackHost } from './config/auth-settings.js';
import { type Config, ConfigError, MEMORY_DATA_DIR } from './config.js';
import type { Context } from './context.js';
import { type Database, openDatabase } from './db/database.js';
import { DEFAULT_USER_ID, ensureDefaultUser } from './db/default-user.js';
import type { PgliteHost } from './db/pglite-host.js';
import { type Embedder, embedderFromSpec } from './embeddings/index.js';
import { createHealthService } from './health/health-service.js';
import { requestIdFrom } from './http/request-id.js';
import type { Logger } from './logger.js';
import { createMemoryService } from './memory/memory-service.js';
import {
  countRefusals,
  createMetrics,
  type Metrics,
  measuredEmbedder,
  metricsOff,
  teeRecorder,
} from './metrics/index.js';
import { type Authenticator, createAuthenticator } from './policy/authenticator.js';
import { createIdentityService } from './policy/identity-service.js';
import { limitsFromJson } from './policy/limits.js';
import { createPriceBook } from './policy/prices/price-book.js';
import { createQuotaStore } from './policy/quota/index.js';
import { createSpendLedger } from './policy/spend-ledger.js';
import { createUsagePolicy } from './policy/usage-policy.js';
import type { Viewer } from './policy/viewer.js';
import { createProviderGateway, type ProviderGateway } from './providers/gateway.js';
import { createAppPubSub, createLocalEvents } from './pubsub/pubsub.js';
import { createRedisClients, type RedisClients } from './pubsub/redis-clients.js';
import { createDocumentService } from './rag/document-service.js';
import { createHeavyWork, type HeavyWork } from './rag/heavy-work.js';
import { createIndexer } from './rag/indexer.js';
import type { LocalTopics, Services } from './services.js';
import { createMessageStreams } from './stream-store/index.js';
import { createTracing, type Tracing } from './tracing/index.js';
import { traceRetrieval } from './tracing/retrieval-span.js';
import { traceStreams } from './tracing/stream-spans.js';
import { loadTokenizer } from './util/count-tokens.js';

/** The message streams, their store wrapped to carry the generation's trace to followers. */
function tracedStreams(streams: ReturnType<typeof createMessageStreams>, tracing: Tracing) {
  return { ...streams, store: traceStreams(streams.store, tracing) };
}

/** Indexing untouched this long on a shared database was cut off by a crash. */
const STALE_INDEXING_MS = 10 * 60_000;

export interface App {
  services: Services;
  /** The router and its health monitor; resolvers reach them through services.catalog. */
  providers: ProviderGateway;
  database: Database;
  redis: RedisClients | undefined;
  /** Worker threads for uploads, chunking and local embedding. */
  heavyWork: HeavyWork;
  /** This server's Prometheus metrics (`/metrics`). */
  metrics: Metrics;
  /** This server's traces (OTLP), or tracing off when no endpoint is set. */
  tracing: Tracing;
  /** Resolves once migrations are applied and the default user exists. */
  bootstrapped: Promise<void>;
  /** Who may call, and how revocations reach open sockets. */
  auth: Authenticator;
  /**
   * A resolver's context. Without `viewer`, the request's `Authorization` header is checked
   * (throws AppError UNAUTHENTICATED); a WebSocket passes the viewer its connection signed in as.
   */
  createContext(
    request: { headers: { get(name: string): string | null } } | undefined,
    viewer?: Viewer,
  ): Promise<Context>;
  /** Shutdown's first step: not ready any more, no new generations, running ones finish (see ChatModule.drain). */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Embedded PGlite already starting (see main.ts); without it, createApp starts it. */
  embeddedDatabase?: PgliteHost | undefined;
  /** Tracing built by the caller (tests with an in-memory exporter); else from config.env. */
  tracing?: Tracing | undefined;
}

/**
 * Builds every dependency once. Bootstrapping (migrations, default user) retries in the
 * background until the database answers, so the process starts, reports not-ready, and
 * recovers by itself when the database comes up.
 */
export async function createApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const metrics = config.metrics.enabled ? createMetrics() : metricsOff();
  const tracing = options.tracing ?? createTracing(config.env);
  const providers = createProviderGateway(
    config,
    config.metrics.enabled ? (recorder) => teeRecorder(recorder, metrics.recorder) : undefined,
    tracing,
  );
  metrics.setModelCatalog(providers.isKnownModel);
  // Threads start on first use, so building this costs nothing until a document arrives.
  const heavyWork = createHeavyWork();
  let embedder: Embedder;
  try {
    embedder = measuredEmbedder(
      embedderFromSpec(config.embeddingModel, providers.router, { offload: heavyWork.embed }),
      metrics,
    );
  } catch (error) {
    providers.close();
    await heavyWork.close();
    // The start-up error is what the operator must see, not a collector's.
    await tracing.shutdown().catch(() => {});
    throw new ConfigError('EMBEDDING_MODEL', config.embeddingModel, (error as Error).message.replace(/^.*: use /, ''));
  }
  if (tracing.tracer && Number(process.versions.node.split('.')[0]) < 24)
    logger.warn(
      'tracing on Node < 24 costs 20-35 % more CPU per chat (AsyncLocalStorage hooks every promise); Node 24 does not',
      {
        node: process.version,
      },
    );
  const database = await openDatabase(config, logger, options.embeddedDatabase, tracing).catch(async (error) => {
    providers.close();
    await heavyWork.close();
    // The start-up error is what the operator must see, not a collector's.
    await tracing.shutdown().catch(() => {});
    throw error;
  });
  const redis = config.redisUrl ? createRedisClients(config.redisUrl, logger, tracing) : undefined;
  const stop = new AbortController();
  let bootstrappedFlag = false;
  let draining = false;

  const localEvents = createLocalEvents<LocalTopics>();
  const unwatch = providers.monitor.onChange((snapshot) => localEvents.publish('providerHealth', snapshot));
  const pubsub = createAppPubSub(redis, logger);
  const indexer = createIndexer({
    db: database.prisma,
    sql: database.sql,
    embedder,
    chunk: heavyWork.chunk,
    logger,
    // Embedded PGlite runs one statement at a time: small batches let every other query in between.
    batchSize: database.kind === 'pglite' ? 32 : 256,
    onChunksWritten: metrics.chunksIndexed,
  });
  const documents = traceRetrieval(
    createDocumentService({
      db: database.prisma,
      sql: database.sql,
      embedder,
      indexer,
      extractText: heavyWork.extractText,
    }),
    tracing,
  );
  const memory = createMemoryService({ db: database.prisma, embedder });
  const prices = createPriceBook({ overrides: config.file.prices });
  const quota = createQuotaStore({
    redis: redis?.command,
    ledger: createSpendLedger(database.sql),
    leaseMs: config.file.usage.leaseMs,
  });
  const usage = countRefusals(
    createUsagePolicy({
      db: database.prisma,
      quota,
      prices,
      defaults: limitsFromJson(config.file.limits ?? null),
      piiDefault: config.file.pii.mode,
      pubsub,
      logger,
    }),
    metrics,
  );
  const chat = createChatModule({
    db: database.prisma,
    sql: database.sql,
    providers,
    pubsub,
    logger,
    settings: config.file.chat,
    streams: tracedStreams(
      createMessageStreams({
        redis: redis && { command: redis.command, subscriber: redis.streamSubscriber },
        options: { maxDeltas: config.file.chat.maxBufferedDeltas, endedTtlMs: config.file.chat.endedStreamTtlMs },
        logger,
        journalDir:
          config.database.kind === 'pglite' && config.database.dataDir !== MEMORY_DATA_DIR
            ? join(config.database.dataDir, 'chat-journal')
            : undefined,
      }),
      tracing,
    ),
    documents,
    memory,
    usage,
    prices,
    metrics,
  });

  metrics.observe({
    openStreams: () => chat.running,
    providers: () => providers.monitor.snapshot(),
    indexing: indexer.depth,
    databasePool: database.poolStats,
  });

  const bootstrapPolicy = retry(handleAll, { backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }) });
  bootstrapPolicy.onRetry((event) =>
    logger.warn('database not ready, retrying', { error: 'error' in event ? event.error.message : undefined }),
  );
  const bootstrapped = bootstrapPolicy
    .execute(async () => {
      // Before ready: loaded by the first chat instead, it would stall every stream in flight.
      await Promise.all([database.migrate(), loadTokenizer()]);
      // Independent once the schema is there: their queries overlap (a tenth of a cold start).
      const steps = await Promise.allSettled([
        ensureDefaultUser(database.prisma),
        // Embedded PGlite belongs to this process alone: anything still STREAMING was cut off by a crash.
        chat.liveness.sweep({ all: database.kind === 'pglite' }),
        indexer.resume(database.kind === 'pglite' ? 0 : STALE_INDEXING_MS),
      ]);
      const failed = steps.find((step) => step.status === 'rejected');
      if (failed) throw failed.reason;
      chat.liveness.start();
      bootstrappedFlag = true;
    }, stop.signal)
    .catch((error) => {
      if (!stop.signal.aborted) logger.error('bootstrap failed', { error });
      throw error;
    });
  bootstrapped.catch(() => {});

  const auth = createAuthenticator({
    db: database.prisma,
    settings: config.auth,
    loopbackOnly: isLoopbackHost(config.host),
    defaultUserId: DEFAULT_USER_ID,
    pubsub,
    logger,
  });

  const services: Services = {
    health: createHealthService({
      database,
      redis,
      isBootstrapped: () => bootstrappedFlag,
      isDraining: () => draining,
      providersStatus: () => providers.monitor.overall(),
    }),
    pubsub,
    localEvents,
    catalog: createProviderCatalog(providers),
    chat: chat.service,
    completions: chat.completions,
    documents,
    memory,
    auth,
    identity: createIdentityService({ db: database.prisma, auth }),
    usage,
  };

  return {
    services,
    providers,
    database,
    redis,
    heavyWork,
    metrics,
    tracing,
    bootstrapped,
    auth,
    async createContext(request, viewer) {
      return {
        db: database.prisma,
        viewer:
          viewer ?? (await auth.authenticate(request?.headers.get('authorization'), request?.headers.get('host'))),
        requestId: requestIdFrom(request?.headers.get('x-request-id')),
        logger,
        services,
      };
    },
    async drain(timeoutMs) {
      draining = true;
      await chat.drain(timeoutMs);
    },
    async close() {
      stop.abort();
      auth.close();
      // Cancelled, not failed: documents cut off here stay INDEXING for `resume` at the next start.
      await indexer.stop();
      await heavyWork.close();
      await chat.close();
      usage.close();
      quota.close();
      unwatch();
      providers.close();
      await redis?.close();
      await database.close();
      // Last: the spans of everything above are exported before the process may exit.
      await tracing.shutdown().catch((error) => logger.warn('trace export failed at shutdown', { error }));
    },
  };
}
