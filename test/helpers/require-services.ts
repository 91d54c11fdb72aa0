import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Vitest global setup. Suites that need Postgres or Redis skip themselves when DATABASE_URL or
 * REDIS_URL is unset, which is right on a laptop and wrong in CI's services pass: there a missing
 * or unreachable service would turn the pass green with half of it skipped. When
 * SWITCHYARD_TEST_SERVICES names services (`.ci/run` sets `postgres,redis`), each must answer,
 * or the run fails before any test.
 */
export default async function requireServices(): Promise<void> {
  const wanted = (process.env.SWITCHYARD_TEST_SERVICES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((s) => s !== 'postgres' && s !== 'redis');
  if (unknown.length > 0) throw new Error(`SWITCHYARD_TEST_SERVICES: unknown service ${unknown.join(', ')}`);
  const problems = await Promise.all(wanted.map((s) => (s === 'postgres' ? checkPostgres() : checkRedis())));
  const failed = problems.filter((p): p is string => p !== undefined);
  if (failed.length > 0) {
    throw new Error(`SWITCHYARD_TEST_SERVICES=${wanted.join(',')}, but: ${failed.join('; ')}`);
  }
}

async function checkPostgres(): Promise<string | undefined> {
  const url = process.env.DATABASE_URL;
  if (!url) return 'DATABASE_URL is not set';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `Postgres at DATABASE_URL does not answer (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function checkRedis(): Promise<string | undefined> {
  const url = process.env.REDIS_URL;
  if (!url) return 'REDIS_URL is not set';
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 10_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    return `Redis at REDIS_URL does not answer (${(error as Error).message})`;
  } finally {
    redis.disconnect();
  }
}
