import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { onInterrupt } from './peers/children.js';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MIGRATIONS = join(import.meta.dirname, '../prisma/migrations');

export const HNSW_INDEX = 'chunks_embedding_384_idx';

export interface RagScratch {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database `switchyard_bench_rag_<random>` for the server to migrate; `drop()` also runs on Ctrl-C. */
export async function createRagScratch(): Promise<RagScratch> {
  const name = `switchyard_bench_rag_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  const drop = () => {
    dropped ??= (async () => {
      unregister();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    })();
    return dropped;
  };
  const unregister = onInterrupt(drop);
  return { name, url: url.toString(), drop };
}

/** The latest migration's `CREATE INDEX` statement for the 384-dimension HNSW index, verbatim. */
export function hnswIndexStatement(): string {
  let statement: string | undefined;
  for (const dir of readdirSync(MIGRATIONS).sort()) {
    let sql: string;
    try {
      sql = readFileSync(join(MIGRATIONS, dir, 'migration.sql'), 'utf8');
    } catch {
      continue;
    }
    // a later migration that rebuilds the index replaces an earlier one's statement
    const matches = sql.match(new RegExp(`CREATE INDEX "${HNSW_INDEX}"[^;]*;`, 'g'));
    statement = matches?.at(-1) ?? statement;
  }
  if (statement === undefined) throw new Error(`no migration creates ${HNSW_INDEX}`);
  return statement;
}

/** The index as Postgres describes it, to check the rebuilt one matches the migrated one. */
export async function indexDefinition(db: pg.Pool): Promise<string | undefined> {
  const { rows } = await db.query<{ def: string }>(
    'SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indexrelid = to_regclass($1)',
    [`"${HNSW_INDEX}"`],
  );
  return rows[0]?.def;
}

export interface IndexBuild {
  statement: string;
  ms: number;
  sizeMiB: number;
  maintenanceWorkMem: string;
  parallelWorkers: string;
  /** pgvector's notices, e.g. that the graph outgrew maintenance_work_mem. */
  notices: string[];
}

/** Recreates the HNSW index with the migration's statement on one connection, timed. */
export async function rebuildHnswIndex(db: pg.Pool, maintenanceWorkMem?: string): Promise<IndexBuild> {
  const statement = hnswIndexStatement();
  const client = await db.connect();
  const notices: string[] = [];
  const onNotice = (notice: { message?: string }) => notices.push(notice.message ?? '');
  client.on('notice', onNotice);
  try {
    if (maintenanceWorkMem) await client.query(`SET maintenance_work_mem = '${maintenanceWorkMem}'`);
    const setting = async (name: string) =>
      (await client.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]?.v ?? '';
    const t0 = performance.now();
    await client.query(statement);
    const ms = performance.now() - t0;
    const { rows } = await client.query<{ bytes: string }>('SELECT pg_relation_size($1) AS bytes', [`"${HNSW_INDEX}"`]);
    return {
      statement,
      ms,
      sizeMiB: Number(rows[0]?.bytes) / 2 ** 20,
      maintenanceWorkMem: await setting('maintenance_work_mem'),
      parallelWorkers: await setting('max_parallel_maintenance_workers'),
      notices,
    };
  } finally {
    client.off('notice', onNotice);
    client.release();
  }
}

/** Server settings that shape the numbers. */
export async function postgresSettings(db: pg.Pool): Promise<Record<string, string>> {
  const { rows } = await db.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM pg_settings
      WHERE name IN ('shared_buffers', 'work_mem', 'maintenance_work_mem', 'max_parallel_workers_per_gather',
                     'max_parallel_maintenance_workers', 'synchronous_commit', 'server_version')
      UNION ALL SELECT 'pgvector', extversion FROM pg_extension WHERE extname = 'vector'`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}
