import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/eventually.js';
import { startTcpProxy } from '../../../test/helpers/tcp-proxy.js';
import { startValveProxy } from '../../../test/helpers/valve-proxy.js';
import { createLogger } from '../../logger.js';
import { createRedisClients } from '../../pubsub/redis-clients.js';
import { budgetPeriods } from '../budget-periods.js';
import { type Limits, NO_LIMITS } from '../limits.js';
import { createRedisQuotaStore, type QuotaDecision, type QuotaStore, type RedisQuotaStoreOptions } from './index.js';
import { PERIODS_AT, runScript } from './quota-scripts.js';

/** What only Redis has: instances sharing it, its clock and calendar in Lua, key expiry, outages. */
const redisUrl = process.env.REDIS_URL;
const X = 10_000_000;
const subject = (limits: Partial<Limits>) => ({ id: `key:${randomUUID()}`, limits: { ...NO_LIMITS, ...limits } });
const request = (subjects: ReturnType<typeof subject>[], costNanos = 0) => ({
  id: randomUUID(),
  subjects,
  tokens: 10,
  costNanos,
});
const admitted = (decisions: QuotaDecision[]) => decisions.filter((d) => d.admitted).length;
const noSpend = async () => 0;

describe.skipIf(!redisUrl)('redis quota store across instances', () => {
  /** Two gateway instances: each its own command connection. */
  let a: Redis;
  let b: Redis;
  let prefix: string;
  const stores: QuotaStore[] = [];
  const store = (redis: Redis, options: Partial<RedisQuotaStoreOptions> = {}) => {
    const made = createRedisQuotaStore({ redis, ledger: noSpend, leaseMs: 30_000, prefix, ...options });
    stores.push(made);
    return made;
  };
  const ours = () => scanKeys(a, prefix);
  beforeAll(() => {
    a = new Redis(redisUrl as string, { maxRetriesPerRequest: 2 });
    b = new Redis(redisUrl as string, { maxRetriesPerRequest: 2 });
  });
  beforeEach(() => {
    prefix = `test:quota:${randomUUID()}:`;
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) s.close();
    const keys = await ours();
    if (keys.length > 0) await a.del(...keys);
  });
  afterAll(async () => {
    await Promise.all([a.quit(), b.quit()]);
  });

  it('computes the same UTC day and month in Lua as budgetPeriods', async () => {
    const instants = [
      '2024-02-28T23:59:59.999Z',
      '2024-02-29T00:00:00.000Z',
      '2024-12-31T23:59:59.999Z',
      '2025-01-01T00:00:00.000Z',
      '2100-02-28T12:00:00.000Z',
      '2000-02-29T12:00:00.000Z',
      '1970-01-01T00:00:00.000Z',
    ].map(Date.parse);
    for (let t = Date.parse('2026-01-01T00:00:00Z'); t < Date.parse('2029-01-01T00:00:00Z'); t += 86_400_000 * 7.3) {
      instants.push(Math.floor(t));
    }
    for (const t of instants) {
      const lua = await runScript(a, PERIODS_AT, [], [t]);
      const ts = budgetPeriods(t);
      expect(lua, new Date(t).toISOString()).toEqual([ts.day, ts.month, ts.dayEndsAt, ts.monthEndsAt]);
    }
  });

  it('sends a script Redis does not know yet (NOSCRIPT) as source', async () => {
    const source = `return ARGV[1] -- ${randomUUID()}`;
    const fresh = { source, sha: createHash('sha1').update(source).digest('hex') };
    expect(await a.script('EXISTS', fresh.sha)).toEqual([0]);
    expect(await runScript(a, fresh, [], ['ran'])).toBe('ran');
    expect(await a.script('EXISTS', fresh.sha)).toEqual([1]);
  });

  it('shares limits exactly between two instances: 100 requests at once, 30 per minute', async () => {
    const [one, two] = [store(a), store(b)];
    const k = subject({ requestsPerMinute: 30 });
    const decisions = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? one : two).admit(request([k]))),
    );
    expect(admitted(decisions)).toBe(30);
    expect(decisions.filter((d) => !d.admitted && d.retryAfterMs > 0 && d.limit === 'requestsPerMinute')).toHaveLength(
      70,
    );
  });

  it('shares streams and budgets exactly between two instances', async () => {
    const [one, two] = [store(a), store(b)];
    const streams = subject({ concurrentStreams: 3 });
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? one : two).admit(request([streams]))),
    );
    expect(admitted(burst)).toBe(3);
    const budget = subject({ dailyBudgetUsd: (5.5 * X) / 1e9 });
    const wave = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).admit(request([budget], X))),
    );
    expect(admitted(wave)).toBe(5);
  });

  it('gives every key it writes an expiry', async () => {
    const quota = store(a, { ledger: async () => 3 * X });
    const k = subject({
      requestsPerMinute: 10,
      tokensPerMinute: 1_000,
      concurrentStreams: 2,
      dailyBudgetUsd: 1,
      monthlyBudgetUsd: 10,
    });
    const open = request([k], X);
    const done = request([k], X);
    expect(await quota.admit(open)).toMatchObject({ admitted: true });
    expect(await quota.admit(done)).toMatchObject({ admitted: true });
    await quota.settle({ id: done.id, subjects: [k.id], tokens: 5, costNanos: X });
    const keys = await ours();
    // Window, buckets, the open token entry, leases, holds and amounts, spent, the tombstone.
    expect(keys).toHaveLength(8);
    for (const key of keys) {
      expect(key).toContain('{quota}');
      expect(await a.pttl(key), key).toBeGreaterThan(0);
    }
  });
});

describe.skipIf(!redisUrl)('redis quota store while Redis is unreachable', () => {
  const target = new URL(redisUrl ?? 'redis://127.0.0.1:6379');
  const k = subject({ requestsPerMinute: 100 });
  const prefix = `test:quota:${randomUUID()}:`;
  afterAll(async () => {
    const redis = new Redis(redisUrl as string);
    const keys = await scanKeys(redis, prefix);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('rejects when Redis refuses connections, works again once it is back, and then applies a failed settle', async () => {
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    // The gateway's own command client (src/pubsub/redis-clients.ts), through a proxy the test can cut.
    const clients = createRedisClients(`redis://127.0.0.1:${proxy.port}`, createLogger('silent'));
    const quota = createRedisQuotaStore({ redis: clients.command, ledger: noSpend, leaseMs: 300, prefix });
    const budget = subject({ dailyBudgetUsd: 1 });
    try {
      const running = request([budget], X);
      expect(await quota.admit(running)).toMatchObject({ admitted: true });
      await proxy.cut();
      await expect(quota.admit(request([k]))).rejects.toThrow();
      await expect(quota.settle({ id: running.id, subjects: [budget.id], tokens: 1, costNanos: X })).rejects.toThrow();
      await proxy.restore();
      await expect(retrying(() => quota.admit(request([k])))).resolves.toMatchObject({ admitted: true });
      // The store retries the settle it could not deliver: the spend arrives, once.
      await until(async () => (await quota.spent(budget.id)).dayNanos === X, 'the retried settle');
    } finally {
      quota.close();
      await clients.close();
      await proxy.close();
    }
  });

  it('rejects when Redis stops answering, after its timeout', async () => {
    const valve = await startValveProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const clients = createRedisClients(`redis://127.0.0.1:${new URL(valve.url).port}`, createLogger('silent'));
    const quota = createRedisQuotaStore({
      redis: clients.command,
      ledger: noSpend,
      leaseMs: 30_000,
      prefix,
      timeoutMs: 300,
    });
    try {
      expect(await quota.admit(request([k]))).toMatchObject({ admitted: true });
      valve.hold();
      await expect(quota.admit(request([k]))).rejects.toThrow(/did not answer within 300 ms/);
      await expect(quota.settle({ id: randomUUID(), subjects: [k.id], tokens: 0, costNanos: 0 })).rejects.toThrow();
      valve.release();
      expect(await quota.admit(request([k]))).toMatchObject({ admitted: true });
    } finally {
      quota.close();
      await clients.close();
      await valve.close();
    }
  });
});

/** The first success of `attempt` (a reconnecting client rejects until it is connected again). */
async function retrying<T>(attempt: () => Promise<T>, deadlineMs = 60_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function scanKeys(redis: Redis, prefix: string) {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}
