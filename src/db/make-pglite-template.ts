// Run by `npm run build` from its bundle (dist/db/make-pglite-template.js <file>): writes the data
// directory a new embedded DATA_DIR starts from, as a tar: PGlite's initdb with pgvector and every
// migration applied, recorded as the server records them. A fresh start then skips initdb (about 9 s
// of CPU) and the migrations (about 1 s).
import { writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { createLogger } from '../logger.js';
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

const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: make-pglite-template.js <output.tar>');
const db = await PGlite.create({ extensions: { vector } });
await applyMigrations(migrationClient(db), MIGRATIONS_DIR, createLogger('warn'));
const dump = await db.dumpDataDir('none');
await db.close();
writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
