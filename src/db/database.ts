import { PrismaPg } from '@prisma/adapter-pg';
import { TimeoutStrategy, timeout } from 'cockatiel';
import pg from 'pg';
import type { Config } from '../config.js';
import { HNSW_SESSION_SETTINGS } from '../embeddings/hnsw-settings.js';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { type Tracing, tracingOff } from '../tracing/index.js';
import { tracePostgres } from '../tracing/postgres-spans.js';
import { startEmbeddedDatabase } from './embedded-database.js';
import { applyMigrations, MIGRATIONS_DIR, type MigrationResult } from './migrate.js';
import type { PgliteHost } from './pglite-host.js';
import { startupOptions } from './session-settings.js';
import { createSqlRunner, type SqlRunner } from './sql-runner.js';

export type Db = PrismaClient;

export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: Db;
  /** Raw statements on the same pool without Prisma, for the hottest statements (see SqlRunner). */
  sql: SqlRunner;
  /** Applies pending migrations (under Postgres' advisory lock). */
  migrate(): Promise<MigrationResult>;
  /** Round-trips `SELECT 1`; resolves to the latency in ms or rejects within `timeoutMs`. */
  ping(timeoutMs: number): Promise<number>;
  /** The connection pool's figures now (metrics): connections open, idle, and queries waiting for one. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/**
 * Opens the configured database: the Postgres named by DATABASE_URL, or embedded PGlite.
 * Both are reached through node-postgres and Prisma's `pg` adapter, so nothing above this
 * module knows which one it has. `embedded` is PGlite already starting (`main` starts it before
 * loading the server's modules); without it, this starts it.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  embedded?: PgliteHost,
  /** Spans per statement inside traced requests, when tracing is on. */
  tracing: Tracing = tracingOff,
): Promise<Database> {
  const host =
    config.database.kind === 'pglite'
      ? (embedded ?? startEmbeddedDatabase(config.database.dataDir, logger))
      : undefined;
  const poolConfig: pg.PoolConfig =
    config.database.kind === 'postgres'
      ? {
          connectionString: config.database.url,
          max: config.database.poolSize,
          // (`options` in DATABASE_URL would replace these)
          options: startupOptions(HNSW_SESSION_SETTINGS),
        }
      : (host as NonNullable<typeof host>).connection;
  // Under a burst, queries queue for a connection rather than fail: the wait bound is generous.
  const pool = new pg.Pool({ connectionTimeoutMillis: 30_000, idleTimeoutMillis: 30_000, ...poolConfig });
  // An idle client's connection can drop (database restart, network); the pool replaces it.
  pool.on('error', (error) => logger.warn('database connection lost', { error }));
  tracePostgres(pool, tracing);
  // Embedded PGlite serialises every transaction on its single connection: under a burst, one
  // may wait well past Prisma's 2 s default for its turn.
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    transactionOptions: { maxWait: 30_000, timeout: 30_000 },
  });
  // Connects nothing yet: loads Prisma's query compiler (a few hundred ms) while PGlite opens.
  const compilerLoaded = prisma.$connect();
  try {
    await host?.ready;
    await compilerLoaded;
  } catch (error) {
    await compilerLoaded.catch(() => {});
    await prisma.$disconnect().catch(() => {});
    await pool.end().catch(() => {});
    throw error;
  }

  return {
    kind: config.database.kind,
    prisma,
    // PGlite's one session is shared by the socket's connections, so a reconnecting client would
    // find its statement names taken: statements are named on a real server only.
    sql: createSqlRunner(pool, { maxPrepared: config.database.kind === 'postgres' ? 32 : 0 }),
    async migrate() {
      const client = await pool.connect();
      try {
        return await applyMigrations(client, MIGRATIONS_DIR, logger);
      } finally {
        client.release();
      }
    },
    async ping(timeoutMs) {
      const started = performance.now();
      await timeout(timeoutMs, TimeoutStrategy.Aggressive).execute(() => prisma.$queryRaw`SELECT 1`);
      return performance.now() - started;
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
      await host?.close();
    },
  };
}
