import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../test/helpers/eventually.js';
import { budgetPeriods } from '../budget-periods.js';
import { type Limits, NO_LIMITS } from '../limits.js';
import { createMemoryQuotaStore, createRedisQuotaStore } from './index.js';
import type { QuotaDecision, QuotaStore, QuotaSubject, SpendLedger } from './types.js';

/**
 * The behaviour both quota stores must show, run against each: in process (with a clock the
 * tests move) and in Redis (REDIS_URL; real time, a random key prefix per test).
 */
interface StoreOptions {
  leaseMs?: number;
  ledger?: SpendLedger;
  /** The real clock even in memory, for a test of what the renewal timer does over time. */
  realClock?: boolean;
}

interface Harness {
  /** A new store. Redis stores of one test share their counters (one prefix), like instances. */
  store(options?: StoreOptions): QuotaStore;
  /** A store that sees what `of` recorded (memory: `of` itself; Redis: another instance). */
  peer(of: QuotaStore, options?: StoreOptions): QuotaStore;
  /** Empties the counters from now on, as a restart (memory) or a flushed Redis would. */
  restart(): void;
  /** The store's clock. */
  now(): number;
  /** Lets time pass until `condition` holds: memory moves its clock 50 ms per look, Redis waits. */
  until(condition: () => Promise<boolean>, what: string): Promise<void>;
}

const X = 10_000_000; // nano-dollars: 0.01 USD
const usd = (nanos: number) => nanos / 1e9;
const key = () => `key:${randomUUID()}`;
const user = () => `user:${randomUUID()}`;
const subject = (id: string, limits: Partial<Limits>): QuotaSubject => ({ id, limits: { ...NO_LIMITS, ...limits } });
const request = (subjects: QuotaSubject[], tokens = 100, costNanos = 0) => ({
  id: randomUUID(),
  subjects,
  tokens,
  costNanos,
});
const admitted = (decisions: QuotaDecision[]) => decisions.filter((d) => d.admitted).length;
const refusals = (decisions: QuotaDecision[]) =>
  decisions.filter((d): d is Extract<QuotaDecision, { admitted: false }> => !d.admitted);

/** A ledger that knows a spend per subject and period (day `YYYY-MM-DD` or month `YYYY-MM`), and counts reads. */
function fakeLedger(spend: Record<string, number> = {}) {
  const reads: string[] = [];
  const ledger: SpendLedger = async (who, from, to) => {
    const period =
      to.getTime() - from.getTime() <= 86_400_000 ? from.toISOString().slice(0, 10) : from.toISOString().slice(0, 7);
    reads.push(`${who}|${period}`);
    return spend[`${who}|${period}`] ?? 0;
  };
  return { ledger, reads };
}

function quotaStoreSuite(makeHarness: () => Harness) {
  let h: Harness;
  const stores: QuotaStore[] = [];
  const store = (options?: StoreOptions) => {
    const made = h.store(options);
    stores.push(made);
    return made;
  };
  const peer = (of: QuotaStore, options?: StoreOptions) => {
    const made = h.peer(of, options);
    stores.push(made);
    return made;
  };
  beforeAll(() => {
    h = makeHarness();
  });
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    h.restart();
  });

  it('admits exactly N of 3N concurrent requests, and tells when to retry', async () => {
    const quota = store();
    const k = subject(key(), { requestsPerMinute: 10 });
    const decisions = await Promise.all(Array.from({ length: 30 }, () => quota.admit(request([k]))));
    expect(admitted(decisions)).toBe(10);
    for (const refusal of refusals(decisions)) {
      expect(refusal).toMatchObject({ subject: k.id, limit: 'requestsPerMinute' });
      expect(refusal.retryAfterMs).toBeGreaterThan(55_000);
      expect(refusal.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
  });

  it("records a refusal nowhere: the user's limit refuses and the key's counters did not move", async () => {
    const quota = store();
    const k = subject(key(), {
      requestsPerMinute: 10,
      tokensPerMinute: 10_000,
      concurrentStreams: 4,
      dailyBudgetUsd: usd(3.5 * X),
    });
    const u = subject(user(), { requestsPerMinute: 2 });
    const decisions = await Promise.all(Array.from({ length: 6 }, () => quota.admit(request([k, u], 100, X))));
    expect(admitted(decisions)).toBe(2);
    expect(refusals(decisions).map((r) => r.subject)).toEqual([u.id, u.id, u.id, u.id]);

    // The same key under another user: its window holds the 2 admitted, not the 4 refused.
    const other = subject(user(), { requestsPerMinute: 100 });
    const third = await quota.admit(request([k, other], 100, X));
    expect(third).toEqual({
      admitted: true,
      remaining: [
        { subject: k.id, limitRequests: 10, remainingRequests: 7, limitTokens: 10_000, remainingTokens: 9_700 },
        { subject: other.id, limitRequests: 100, remainingRequests: 99, limitTokens: null, remainingTokens: null },
      ],
    });
    // Three streams of four and three holds of 3.5 X: the budget refuses the fourth, not the streams.
    expect(await quota.admit(request([k, other], 100, X))).toMatchObject({ admitted: false, limit: 'dailyBudgetUsd' });
  });

  it('corrects a token entry to the real usage on settle, once', async () => {
    const quota = store();
    const k = subject(key(), { tokensPerMinute: 1_000 });
    const first = request([k], 600);
    expect(await quota.admit(first)).toMatchObject({ admitted: true, remaining: [{ remainingTokens: 400 }] });
    const refused = await quota.admit(request([k], 600));
    expect(refused).toMatchObject({ admitted: false, limit: 'tokensPerMinute' });
    // The first entry's bucket leaves the window 60 to 61 s after it was admitted.
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(55_000);
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(61_000);
    expect(await quota.admit(request([k], 1_001))).toEqual({
      admitted: false,
      subject: k.id,
      limit: 'tokensPerMinute',
      retryAfterMs: 60_000,
    });

    await quota.settle({ id: first.id, subjects: [k.id], tokens: 100, costNanos: 0 });
    expect(await quota.admit(request([k], 600))).toMatchObject({
      admitted: true,
      remaining: [{ remainingTokens: 300 }],
    });
    // A second settle of the same request changes nothing: 100 + 600 + 300 still fits.
    await quota.settle({ id: first.id, subjects: [k.id], tokens: 900, costNanos: 0 });
    expect(await quota.admit(request([k], 300))).toMatchObject({ admitted: true, remaining: [{ remainingTokens: 0 }] });
    expect(await quota.admit(request([k], 1))).toMatchObject({ admitted: false, limit: 'tokensPerMinute' });
  });

  it('holds concurrentStreams exactly under a burst and frees one slot per settled stream', async () => {
    const quota = store();
    const k = subject(key(), { concurrentStreams: 3 });
    const burst = Array.from({ length: 10 }, () => request([k]));
    const decisions = await Promise.all(burst.map((r) => quota.admit(r)));
    expect(admitted(decisions)).toBe(3);
    for (const refusal of refusals(decisions)) {
      expect(refusal.limit).toBe('concurrentStreams');
      expect(refusal.retryAfterMs).toBeGreaterThan(0);
      expect(refusal.retryAfterMs).toBeLessThanOrEqual(1_000);
    }
    const running = burst.filter((_, i) => decisions[i]?.admitted);
    const done = { id: running[0]?.id as string, subjects: [k.id], tokens: 0, costNanos: 0 };
    await quota.settle(done);
    await quota.settle(done);
    const again = await Promise.all(Array.from({ length: 3 }, () => quota.admit(request([k]))));
    expect(admitted(again)).toBe(1);
  });

  it("frees a stopped instance's stream slots and holds after leaseMs, and still charges its late settle", async () => {
    const leaseMs = 300;
    const { ledger } = fakeLedger();
    const owner = store({ leaseMs, ledger });
    const k = subject(key(), { concurrentStreams: 1, dailyBudgetUsd: usd(1.5 * X) });
    const orphan = request([k], 100, X);
    expect(await owner.admit(orphan)).toMatchObject({ admitted: true });
    owner.close(); // its renewals stop, as if it crashed

    const other = peer(owner, { leaseMs, ledger });
    const refused = await other.admit(request([k], 100, X));
    expect(refused).toMatchObject({ admitted: false, limit: 'concurrentStreams' });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(leaseMs);
    // Admitted once the lease and the hold both expired (a live hold would refuse: X + X > 1.5 X).
    await h.until(async () => (await other.admit(request([k], 100, X))).admitted, 'the lease and hold to expire');

    // The orphan's settle comes late, its hold gone: its real cost counts all the same.
    await owner.settle({ id: orphan.id, subjects: [k.id], tokens: 50, costNanos: X / 4 });
    // (The month has no counter, no limit needing one: spent() reads it from the ledger.)
    expect((await other.spent(k.id)).dayNanos).toBe(X / 4);
  });

  it('renews the leases and holds of open requests while they run', async () => {
    const leaseMs = 1_000;
    const quota = store({ leaseMs, realClock: true });
    const k = subject(key(), { concurrentStreams: 1, dailyBudgetUsd: usd(1.5 * X) });
    const running = request([k], 100, X);
    expect(await quota.admit(running)).toMatchObject({ admitted: true });
    // Nothing is to happen here: the wait is for the time in which unrenewed leases would expire thrice.
    const started = Date.now();
    await until(() => Date.now() - started > 3 * leaseMs, 'three lease lengths');
    expect(await quota.admit(request([k], 100, 0))).toMatchObject({ admitted: false, limit: 'concurrentStreams' });
    await quota.settle({ id: running.id, subjects: [k.id], tokens: 0, costNanos: 0 });
    expect(await quota.admit(request([k], 100, X))).toMatchObject({ admitted: true });
  });

  it('admits exactly the holds that fit a budget under 20 concurrent admits, then settles them to spend', async () => {
    const { ledger } = fakeLedger();
    const quota = store({ ledger });
    const k = subject(key(), { dailyBudgetUsd: usd(5.5 * X) });
    const wave = Array.from({ length: 20 }, () => request([k], 100, X));
    const decisions = await Promise.all(wave.map((r) => quota.admit(r)));
    expect(admitted(decisions)).toBe(5);
    const { dayEndsAt } = budgetPeriods(h.now());
    for (const refusal of refusals(decisions)) {
      expect(refusal.limit).toBe('dailyBudgetUsd');
      expect(Math.abs(refusal.retryAfterMs - (dayEndsAt - h.now()))).toBeLessThan(5_000);
    }
    expect(await quota.spent(k.id)).toEqual({ dayNanos: 0, monthNanos: 0 }); // holds are not spend

    const settle = (id: string) => quota.settle({ id, subjects: [k.id], tokens: 100, costNanos: X / 2 });
    const running = wave.filter((_, i) => decisions[i]?.admitted);
    await Promise.all(running.map((r) => settle(r.id)));
    await settle(running[0]?.id as string); // again: nothing changes
    expect(await quota.spent(k.id)).toEqual({ dayNanos: 2.5 * X, monthNanos: 2.5 * X });
    // 2.5 X spent leaves room for exactly three more holds of X.
    const next = await Promise.all(Array.from({ length: 20 }, () => quota.admit(request([k], 100, X))));
    expect(admitted(next)).toBe(3);
  });

  it('rebuilds budget counters from the ledger after a restart, reading it once per counter', async () => {
    const k = key();
    const { day, month, monthEndsAt } = budgetPeriods(h.now());
    const { ledger, reads } = fakeLedger({ [`${k}|${day}`]: 5 * X, [`${k}|${month}`]: 20 * X });
    const limits = { dailyBudgetUsd: usd(5.5 * X), monthlyBudgetUsd: usd(100 * X) };
    const first = store({ ledger });
    const wave = await Promise.all(Array.from({ length: 20 }, () => first.admit(request([subject(k, limits)], 1, X))));
    expect(refusals(wave).map((r) => r.limit)).toEqual(Array(20).fill('dailyBudgetUsd'));
    expect(reads.sort()).toEqual([`${k}|${day}`, `${k}|${month}`].sort());
    const half = request([subject(k, limits)], 1, X / 2);
    expect(await first.admit(half)).toMatchObject({ admitted: true });
    await first.settle({ id: half.id, subjects: [k], tokens: 1, costNanos: X / 2 });
    expect(await first.spent(k)).toEqual({ dayNanos: 5.5 * X, monthNanos: 20.5 * X });

    h.restart();
    // The record now has the settled half too; a monthly limit it exceeds refuses until the month ends.
    const { ledger: after } = fakeLedger({ [`${k}|${day}`]: 5.5 * X, [`${k}|${month}`]: 20.5 * X });
    const restarted = store({ ledger: after });
    expect(await restarted.spent(k)).toEqual({ dayNanos: 5.5 * X, monthNanos: 20.5 * X });
    const monthly = subject(k, { monthlyBudgetUsd: usd(21 * X) });
    const refused = await restarted.admit(request([monthly], 1, X));
    expect(refused).toMatchObject({ admitted: false, subject: k, limit: 'monthlyBudgetUsd' });
    expect(Math.abs((refused as { retryAfterMs: number }).retryAfterMs - (monthEndsAt - h.now()))).toBeLessThan(5_000);
    expect(await restarted.admit(request([monthly], 1, X / 2))).toMatchObject({ admitted: true });
  });
}

describe('memory quota store', () => {
  quotaStoreSuite(() => {
    // Noon UTC: no test crosses a day.
    let clock = Date.parse('2026-11-30T12:00:00Z');
    const now = () => clock;
    return {
      store: (o = {}) =>
        createMemoryQuotaStore({
          ledger: o.ledger ?? fakeLedger().ledger,
          leaseMs: o.leaseMs ?? 30_000,
          now: o.realClock ? undefined : now,
        }),
      peer: (of) => of,
      restart: () => {},
      now,
      until: async (condition, what) => {
        await until(async () => {
          clock += 50;
          return condition();
        }, what);
      },
    };
  });
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)('redis quota store', () => {
  let redis: Redis;
  let prefix = '';
  const prefixes: string[] = [];
  const restart = () => {
    prefix = `test:quota:${randomUUID()}:`;
    prefixes.push(prefix);
  };
  beforeAll(() => {
    redis = new Redis(redisUrl as string, { maxRetriesPerRequest: 2 });
    restart();
  });
  afterAll(async () => {
    for (const p of prefixes) {
      const keys = await scanKeys(redis, `${p}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    await redis.quit();
  });
  quotaStoreSuite(() => {
    const make = (o: StoreOptions = {}) =>
      createRedisQuotaStore({ redis, ledger: o.ledger ?? fakeLedger().ledger, leaseMs: o.leaseMs ?? 30_000, prefix });
    return {
      store: make,
      peer: (_of, o) => make(o),
      restart,
      now: Date.now,
      until,
    };
  });
});

async function scanKeys(redis: Redis, pattern: string) {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}
