import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onInterrupt } from './children.js';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** A fresh, empty database `switchyard_bench_<random>`; the gateway applies its migrations to it. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `switchyard_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    unregister();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  const unregister = onInterrupt(drop);
  return { url: url.toString(), drop };
}

/** Server settings that bound what the gateway can do at high concurrency. */
export async function postgresLimits(): Promise<{ maxConnections: number; inUse: number }> {
  const [row] = await admin<{ max: string; used: string }>(
    "SELECT current_setting('max_connections') AS max, (SELECT count(*) FROM pg_stat_activity)::text AS used",
  );
  return { maxConnections: Number(row?.max), inUse: Number(row?.used) };
}
