import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { buildPgliteTemplate } from '../../src/db/pglite-template.js';
import { createLogger } from '../../src/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The tar test servers' embedded databases start from (see startTestServer). */
    pgliteTemplate: string;
  }
}

const root = join(import.meta.dirname, '../..');
const srcDb = join(root, 'src/db');

/**
 * Vitest global setup: makes, once per run, the data directory every embedded test server starts
 * from, exactly as `npm run build` makes dist's (buildPgliteTemplate: initdb, pgvector, every
 * migration). A server then restores it (about 1 s of CPU) instead of running initdb and the
 * migrations (about 10 s). It is kept in the temp directory under a hash of everything that goes
 * into it, so a later run with the same migrations and PGlite reuses it. The server's own path
 * (initdb, then migrating at start-up) stays covered: test/migrations.test.ts starts without it.
 */
export default async function makeTestTemplate(project: TestProject): Promise<void> {
  const hash = createHash('sha256');
  for (const pkg of ['@electric-sql/pglite', '@electric-sql/pglite-pgvector']) {
    hash.update(readFileSync(join(root, 'node_modules', pkg, 'package.json')));
  }
  for (const file of ['migrate.ts', 'pglite-template.ts']) hash.update(readFileSync(join(srcDb, file)));
  for (const entry of readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory()) continue;
    hash.update(`${entry.name}\n`).update(readFileSync(join(MIGRATIONS_DIR, entry.name, 'migration.sql')));
  }
  const file = join(tmpdir(), `switchyard-test-pglite-${hash.digest('hex').slice(0, 16)}.tar`);
  if (!existsSync(file)) {
    // Renamed into place whole: a run that stops midway, or one beside it, never reads half a file.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, await buildPgliteTemplate(createLogger('warn')));
    renameSync(partial, file);
  }
  project.provide('pgliteTemplate', file);
}
