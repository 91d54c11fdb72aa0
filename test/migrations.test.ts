import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createServer, type Server } from '../src/server.js';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase, postgresUrl } from './helpers/postgres.js';
import { startTestServer, testConfig } from './helpers/test-server.js';

/** The advisory lock key `prisma migrate deploy` takes, which the servers take too. */
const PRISMA_MIGRATE_LOCK = 72707369;

const migrationsDir = join(import.meta.dirname, '../prisma/migrations');
const migrations = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => ({
    name: entry.name,
    checksum: createHash('sha256')
      .update(readFileSync(join(migrationsDir, entry.name, 'migration.sql')))
      .digest('hex'),
  }));

describe('migrations on embedded PGlite', () => {
  // From initdb the server applies every migration at start-up itself; the template (which
  // `npm run build` ships, and other tests start from) must hold exactly the same.
  it.each([
    ['migrated by the server at start-up', false],
    ['restored from the template', true],
  ])(
    '%s: has the vector extension, HNSW and GIN indexes, and records each migration as Prisma does',
    async (_, template) => {
      const started = new Date();
      const server = await startTestServer({}, { template });
      try {
        const db = server.app.database.prisma;
        // Which path this server really took: the template's migrations finished before it started.
        const finished = await db.$queryRaw<{ before: boolean }[]>`
          SELECT finished_at < ${started} AS before FROM "_prisma_migrations"`;
        expect(finished.map((row) => row.before)).toEqual(migrations.map(() => template));
        const recorded = await db.$queryRaw<
          { migration_name: string; checksum: string; applied_steps_count: number }[]
        >`
        SELECT migration_name, checksum, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`;
        expect(recorded).toEqual(
          migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum, applied_steps_count: 1 })),
        );
        const indexes = await db.$queryRaw<{ indexname: string; indexdef: string }[]>`
        SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('chunks', 'memories') ORDER BY indexname`;
        const byName = Object.fromEntries(indexes.map((i) => [i.indexname, i.indexdef]));
        // The latest migration's indexes: half-precision copies, m 12, ef_construction 200.
        const hnsw = (dims: number) =>
          new RegExp(`USING hnsw .*halfvec\\(${dims}\\).*halfvec_cosine_ops.*m='?12'?, ef_construction='?200'?`);
        expect(byName.chunks_embedding_384_idx).toMatch(hnsw(384));
        expect(byName.memories_embedding_1536_idx).toMatch(hnsw(1536));
        expect(byName.chunks_tsv_idx).toMatch(/USING gin \(tsv\)/);
        const [extension] = await db.$queryRaw<
          { extname: string }[]
        >`SELECT extname FROM pg_extension WHERE extname = 'vector'`;
        expect(extension?.extname).toBe('vector');
      } finally {
        await server.close();
      }
    },
  );
});

describe.skipIf(!postgresUrl)('migrations on Postgres from DATABASE_URL', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  const servers: Server[] = [];
  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl as string);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await scratch?.drop();
  });

  it('two servers released at the same moment on one empty database: no migration fails, each runs once', async () => {
    // A third session stands where a slow `prisma migrate deploy` would: in a transaction that
    // holds the migration lock and is creating the migrations table. Both servers block on it,
    // on the lock or, were the lock gone from migrate.ts, on that table; the rollback then
    // releases both at once, so without the lock they really do apply the same migrations together.
    const holder = new pg.Client({ connectionString: scratch.url });
    const observer = new pg.Client({ connectionString: scratch.url });
    await Promise.all([holder.connect(), observer.connect()]);
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const warnings: string[] = [];
    const logger = createLogger('warn', (line) => warnings.push(line));
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1)', [PRISMA_MIGRATE_LOCK]);
      await holder.query('CREATE TABLE "_prisma_migrations" (id VARCHAR(36) PRIMARY KEY)');
      const config = testConfig({ DATABASE_URL: scratch.url });
      const started = [createServer(config, logger), createServer(config, logger)];
      for (const server of started) server.then((s) => servers.push(s)).catch(() => {});
      await eventually(
        async () => {
          // (from the observer: inside the holder's transaction pg_stat_activity is one snapshot)
          const { rows } = await observer.query<{ blocked: number }>(
            `SELECT count(*)::int AS blocked FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`,
            [holderPid],
          );
          return rows[0]?.blocked ?? 0;
        },
        (blocked) => blocked === 2,
        { what: 'both servers to block behind the session holding the migration lock' },
      );
      await holder.query('ROLLBACK');
      const both = await Promise.all(started);
      await Promise.all(both.map((s) => s.ready));
      for (const server of both) {
        const response = await fetch(new URL('/health/ready', server.url));
        expect(response.status).toBe(200);
      }
      const { rows } = await holder.query(
        'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" ORDER BY migration_name',
      );
      expect(rows).toEqual(migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum, finished: true })));
      // Start-up retries would hide a failed migration from the checks above; the log does not.
      expect(warnings.filter((line) => /migration|already exists|duplicate key/i.test(line))).toEqual([]);
    } finally {
      await Promise.all([holder.end(), observer.end()]);
    }
  });
});
