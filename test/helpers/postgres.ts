import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The Postgres suites run only when DATABASE_URL names a server (CI's second pass sets it). */
export const postgresUrl = process.env.DATABASE_URL;

/** Likewise Redis: the suites that share state across instances run only when REDIS_URL is set. */
export const redisUrl = process.env.REDIS_URL;

/**
 * A fresh, empty database on the server DATABASE_URL names, dropped by `drop()`.
 * Each suite gets its own, so suites never see each other's rows or migrations.
 */
export async function createScratchDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `switchyard_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Holds back inserts into `table` until `release()`: a session of its own (not from the server's
 * pool) takes a SHARE lock, which every insert waits for, so a request's rows stay unwritten
 * while the rest of it runs.
 */
export async function holdInserts(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const session = new pg.Client({ connectionString: url });
  await session.connect();
  try {
    await session.query('BEGIN');
    await session.query(`LOCK TABLE ${table} IN SHARE MODE`);
  } catch (error) {
    await session.end();
    throw error;
  }
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= session
        .query('ROLLBACK')
        .then(() => undefined)
        .finally(() => session.end());
      return released;
    },
  };
}
