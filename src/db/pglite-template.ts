import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Logger } from '../logger.js';
import { applyMigrations, MIGRATIONS_DIR, type MigrationClient } from './migrate.js';

/** PGlite as a migration client: several statements go through `exec`, parameters through `query`. */
function migrationClient(db: PGlite): MigrationClient {
  return {
    async query<R>(text: string, values?: unknown[]) {
      if (values !== undefined) return db.query<R>(text, values);
      const results = await db.exec(text);
      return { rows: (results.at(-1)?.rows ?? []) as R[] };
    },
  };
}

/**
 * The data directory a new embedded DATA_DIR starts from, as an uncompressed tar: PGlite's initdb
 * with pgvector and every migration applied, recorded as the server records them (see
 * make-pglite-template.ts, which `npm run build` runs; the tests make one per run the same way).
 */
export async function buildPgliteTemplate(logger: Logger): Promise<Uint8Array> {
  const db = await PGlite.create({ extensions: { vector } });
  try {
    await applyMigrations(migrationClient(db), MIGRATIONS_DIR, logger);
    // Every new DATA_DIR writes this dump to disk on its first start, so it holds only what the
    // server uses: the `postgres` database. The embedded server never runs CREATE DATABASE, the only
    // user of template0/template1 (15 of the dump's 40 MB, 600 of its 1,100 files). The checkpoint
    // spares each first start the replay of the migrations' WAL.
    for (const name of ['template0', 'template1']) {
      // One statement per call: DROP DATABASE cannot run inside the block a multi-statement exec makes.
      await db.exec(`ALTER DATABASE ${name} IS_TEMPLATE false`);
      await db.exec(`DROP DATABASE ${name}`);
    }
    await db.exec('CHECKPOINT');
    const dump = await db.dumpDataDir('none');
    return new Uint8Array(await dump.arrayBuffer());
  } finally {
    await db.close();
  }
}
