import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createServer, type Server } from '../src/server.js';
import { createScratchDatabase, postgresUrl } from './helpers/postgres.js';
import { startTestServer, testConfig } from './helpers/test-server.js';

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
  it('creates the vector extension, HNSW and GIN indexes, and records each migration as Prisma does', async () => {
    const server = await startTestServer();
    try {
      const db = server.app.database.prisma;
      const recorded = await db.$queryRaw<{ migration_name: string; checksum: string; applied_steps_count: number }[]>`
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
  });
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

  it('two servers starting at the same moment on one empty database both become ready; each migration runs once', async () => {
    const config = testConfig({ DATABASE_URL: scratch.url });
    servers.push(
      ...(await Promise.all([
        createServer(config, createLogger('silent')),
        createServer(config, createLogger('silent')),
      ])),
    );
    await Promise.all(servers.map((s) => s.ready));
    for (const server of servers) {
      const response = await fetch(new URL('/health/ready', server.url));
      expect(response.status).toBe(200);
    }
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" ORDER BY migration_name',
      );
      expect(rows).toEqual(migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum, finished: true })));
    } finally {
      await client.end();
    }
  });
});
