import type { Redis } from 'ioredis';
import { periodBounds } from '../budget-periods.js';
import type { LimitName } from '../limits.js';
import {
  type CounterLimits,
  checkRequest,
  checkSettlement,
  checkSubject,
  counterLimits,
  hasBudget,
  REBUILD_ATTEMPTS,
  remainingOf,
  TOMBSTONE_MS,
} from './quota-checks.js';
import { ADMIT, isNoScript, REBUILD, RENEW, runScript, type Script, SETTLE, SPENT } from './quota-scripts.js';
import type { QuotaDecision, QuotaSettlement, QuotaStore, SpendLedger } from './types.js';

export interface RedisQuotaStoreOptions {
  /** A command connection (not one in subscriber mode). */
  redis: Redis;
  ledger: SpendLedger;
  /** How long a stream lease or budget hold lives unless renewed: a crashed instance frees them this late. */
  leaseMs: number;
  /** Before every key; must hold no `{` or `}` (the store adds the hash tag). Default `sy:q:`. */
  prefix?: string;
  /** A Redis call that has not answered by then rejects, so the caller fails closed quickly. Default 2 s. */
  timeoutMs?: number;
}

/**
 * Limits and budgets in Redis, exact across instances: every check-and-record is one Lua script
 * (quota-scripts.ts) on the Redis clock. Every key shares the hash tag `{quota}`, so the
 * multi-key scripts run on a Redis Cluster too (all quota keys then live on one node).
 *
 * Budget periods come from the Redis clock as well: the scripts compute the UTC day and month
 * from TIME, so instances never disagree at midnight; when a counter is missing, the script
 * names the period and this side reads the ledger for exactly that period (periodBounds).
 *
 * A call Redis does not answer within `timeoutMs` rejects. The command client of
 * src/pubsub/redis-clients.ts queues commands while disconnected and rejects them after two
 * reconnect attempts (maxRetriesPerRequest 2): quick when Redis refuses connections, but a
 * silent Redis (a dropped link, a blackholed host) leaves a command waiting indefinitely, as the
 * client sets no command timeout. A script that still runs after its timeout only leaves a
 * conservative trace: a window entry, or a lease and hold that expire after leaseMs.
 */
export function createRedisQuotaStore(options: RedisQuotaStoreOptions): QuotaStore {
  const { redis, ledger, leaseMs } = options;
  const prefix = options.prefix ?? 'sy:q:';
  // Long enough that a saturated event loop (1,000 requests at once on 2 cores: 4 s per request)
  // is not taken for a silent Redis: at 2 s a tenth of such a burst was refused as unavailable.
  const timeoutMs = options.timeoutMs ?? 5_000;
  if (/[{}]/.test(prefix)) throw new RangeError('quota: the key prefix must not contain { or }');
  if (!(leaseMs >= 30)) throw new RangeError('quota: leaseMs must be at least 30');
  const key = (...parts: string[]) => `${prefix}{quota}:${parts.join(':')}`;
  const keysOf = (subject: string, id: string) => [
    key('req', subject),
    key('tok', subject),
    key('tok', subject, id),
    key('str', subject),
    key('hold', subject),
    key('held', subject),
    key('spent', subject),
  ];

  /** Admitted, unsettled requests of this process: their leases and holds are renewed. */
  const open = new Map<string, string[]>();
  /** Settlements Redis did not take: retried on each tick (the tombstone keeps a retry from counting twice). */
  const unsettled = new Map<string, { settlement: QuotaSettlement; since: number }>();
  /** One ledger read per missing counter at a time in this process. */
  const rebuilding = new Map<string, Promise<void>>();

  const call = (which: Script, keys: string[], args: (string | number)[]) =>
    within(timeoutMs, runScript(redis, which, keys, args));

  function rebuild(subject: string, period: string): Promise<void> {
    const name = `${subject}|${period}`;
    let pending = rebuilding.get(name);
    if (!pending) {
      pending = (async () => {
        const { from, to } = periodBounds(period);
        const nanos = await ledger(subject, from, to);
        // Kept until the end of the period's month (plus a minute): the hash holds its days too.
        const monthEnds = periodBounds(period.slice(0, 7)).to.getTime() + 60_000;
        await call(REBUILD, [key('spent', subject)], [period, Math.round(nanos), monthEnds]);
      })().finally(() => rebuilding.delete(name));
      rebuilding.set(name, pending);
    }
    return pending;
  }

  async function settleNow(settlement: QuotaSettlement) {
    const { id, subjects, tokens, costNanos } = settlement;
    const keys = [key('done', id), ...subjects.flatMap((s) => keysOf(s, id))];
    await call(SETTLE, keys, [id, tokens, costNanos, TOMBSTONE_MS]);
  }

  /** Renews every open request's leases in one pipeline, and retries failed settlements. */
  async function tick() {
    if (open.size > 0) {
      const batch = [...open];
      const pipeline = redis.pipeline();
      for (const [id, keys] of batch) pipeline.evalsha(RENEW.sha, keys.length, ...keys, id, leaseMs);
      const results = (await within(timeoutMs, pipeline.exec())) ?? [];
      // After a Redis restart the script is gone: send its source for those that missed it.
      const missed = batch.filter((_, i) => isNoScript(results[i]?.[0]));
      if (missed.length > 0) {
        const retry = redis.pipeline();
        for (const [id, keys] of missed) retry.eval(RENEW.source, keys.length, ...keys, id, leaseMs);
        await within(timeoutMs, retry.exec());
      }
    }
    for (const [id, { settlement, since }] of unsettled) {
      if (Date.now() - since > TOMBSTONE_MS / 2) unsettled.delete(id);
      else await settleNow(settlement).then(() => unsettled.delete(id));
    }
  }
  let ticking = false;
  const timer = setInterval(
    () => {
      if (ticking) return;
      ticking = true;
      // Redis down: the next tick tries again; a lease outlives a few missed ticks.
      tick()
        .catch(() => {})
        .finally(() => {
          ticking = false;
        });
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  );
  timer.unref();

  return {
    async admit(request): Promise<QuotaDecision> {
      checkRequest(request);
      const limits = request.subjects.map((s) => counterLimits(s.limits));
      const keys = request.subjects.flatMap((s) => keysOf(s.id, request.id));
      const args = [request.id, request.tokens, request.costNanos, leaseMs, ...limits.flatMap(limitArgs)];
      for (let attempt = 1; ; attempt++) {
        const reply = (await call(ADMIT, keys, args)) as (number | string)[];
        if (reply[0] === 1) {
          const renewKeys = request.subjects.flatMap((s, i) =>
            limits[i]?.streams !== null || hasBudget(limits[i] as CounterLimits)
              ? [key('str', s.id), key('hold', s.id), key('held', s.id)]
              : [],
          );
          if (renewKeys.length > 0) open.set(request.id, renewKeys);
          return {
            admitted: true,
            remaining: request.subjects.map((s, i) =>
              remainingOf(s.id, limits[i] as CounterLimits, reply[1 + 2 * i] as number, reply[2 + 2 * i] as number),
            ),
          };
        }
        if (reply[0] === 0) {
          const [, index, limit, retryAfterMs] = reply as [0, number, LimitName, number];
          return {
            admitted: false,
            subject: request.subjects[index - 1]?.id ?? '',
            limit,
            retryAfterMs: Math.max(1, retryAfterMs),
          };
        }
        if (attempt === REBUILD_ATTEMPTS) throw new Error('quota: budget counters could not be rebuilt');
        const rebuilds: Promise<void>[] = [];
        for (let i = 1; i < reply.length; i += 2) {
          const subject = request.subjects[(reply[i] as number) - 1]?.id as string;
          rebuilds.push(rebuild(subject, reply[i + 1] as string));
        }
        await Promise.all(rebuilds);
      }
    },

    async settle(settlement) {
      checkSettlement(settlement);
      open.delete(settlement.id);
      try {
        await settleNow(settlement);
      } catch (error) {
        // Bounded: in a long outage the oldest give way (their usage events are still the record).
        if (unsettled.size >= MAX_UNSETTLED) unsettled.delete(unsettled.keys().next().value as string);
        unsettled.set(settlement.id, { settlement, since: Date.now() });
        throw error;
      }
    },

    async spent(subject) {
      checkSubject(subject);
      for (let attempt = 1; ; attempt++) {
        const [day, month, dayNanos, monthNanos] = (await call(SPENT, [key('spent', subject)], [])) as [
          string,
          string,
          number,
          number,
        ];
        if (dayNanos >= 0 && monthNanos >= 0) return { dayNanos, monthNanos };
        if (attempt === REBUILD_ATTEMPTS) throw new Error('quota: spent counters could not be rebuilt');
        await Promise.all([dayNanos < 0 && rebuild(subject, day), monthNanos < 0 && rebuild(subject, month)]);
      }
    },

    close() {
      clearInterval(timer);
    },
  };
}

const MAX_UNSETTLED = 10_000;

/** A subject's limits as the admit script reads them: '' is no limit. */
const limitArgs = (limits: CounterLimits) =>
  [limits.requests, limits.tokens, limits.streams, limits.dayNanos, limits.monthNanos].map((v) =>
    v === null ? '' : v,
  );

/** Rejects when `promise` has not settled within `ms`: Redis silent is Redis down. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`quota: Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
