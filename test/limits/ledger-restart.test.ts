/**
 * The budget ledger survives restarts: Postgres (the usage events) is the record. After every
 * instance stops and new ones start on the same database, `budget` reports the same spent
 * amount and the budget still refuses once it is used. With Redis, the quota keys of the key are
 * deleted first, so the spent amount must be rebuilt from Postgres, not read back from Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { budgetOf, endedMessages, nanos, send } from '../helpers/limits-client.js';
import { LIMITS_BACKENDS, type LimitsCluster, startLimitsCluster } from '../helpers/limits-cluster.js';
import { redisUrl } from '../helpers/postgres.js';

/** 0.001 USD per output token and nothing for input: a 10-token reply costs exactly 0.01 USD, its reservation too. */
const PRICES = { 'mock-echo': { input: 0, output: 1_000 } };
const TURN = { content: 'one two three four five six seven eight nine ten', model: 'mock-echo', maxTokens: 10 };
const CENT = 10_000_000;

/** Deletes the Redis keys that name this API key (its quota counters), and returns how many. */
async function forgetQuotaKeys(keyId: string): Promise<number> {
  const redis = new Redis(redisUrl as string);
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*{quota}*${keyId}*`, 'COUNT', 1_000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    if (found.length > 0) await redis.del(...found);
    return found.length;
  } finally {
    redis.disconnect();
  }
}

for (const backend of LIMITS_BACKENDS) {
  describe.skipIf(backend.skip)(`the budget ledger after a restart: ${backend.name}`, () => {
    let cluster: LimitsCluster;

    beforeAll(async () => {
      cluster = await startLimitsCluster(backend, {
        persistent: true,
        env: { MOCK_TOKEN_DELAY_MS: '1' },
        config: { prices: PRICES },
      });
    });
    afterAll(() => cluster?.close());

    it('budget reports the same spent amount after every instance restarted, and refuses once the budget is used', async () => {
      const key = await cluster.member('thrifty', { dailyBudgetUsd: 0.035, monthlyBudgetUsd: 1 });
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const turn = await send(cluster.pick(i), key.secret, TURN);
        expect(turn.refusal).toBeNull();
        ids.push(turn.messageId as string);
      }
      const rows = await endedMessages(cluster.db, ids);
      expect(rows.map((m) => nanos(m.costUsd))).toEqual([CENT, CENT]);
      // Settled right after each final row is written.
      const before = await eventually(
        () => budgetOf(cluster.pick(1), key.secret),
        (b) => b.dailySpentUsd === 0.02,
        { what: 'dailySpentUsd 0.02' },
      );
      expect(before).toEqual({ dailyLimitUsd: 0.035, dailySpentUsd: 0.02, monthlyLimitUsd: 1, monthlySpentUsd: 0.02 });

      await cluster.restart();
      if (backend.shared) expect(await forgetQuotaKeys(key.keyId)).toBeGreaterThan(0);

      for (const server of cluster.servers) expect(await budgetOf(server, key.secret)).toEqual(before);
      const third = await send(cluster.pick(0), key.secret, TURN);
      expect(third.refusal).toBeNull();
      await endedMessages(cluster.db, [third.messageId as string]);
      // 0.03 spent of 0.035: the next reservation (0.01) does not fit, on any instance.
      for (const server of cluster.servers) {
        const refused = await send(server, key.secret, TURN);
        expect(refused.refusal).toMatchObject({ code: 'BUDGET_EXCEEDED', limit: 'dailyBudgetUsd' });
        expect(refused.refusal?.retryAfterMs).toBeGreaterThan(0);
      }
      await eventually(
        () => budgetOf(cluster.pick(1), key.secret),
        (b) => b.dailySpentUsd === 0.03,
        { what: 'dailySpentUsd 0.03' },
      );
      expect(await cluster.db.message.count({ where: { userId: key.userId } })).toBe(6);
    });
  });
}
