import { budgetPeriods, periodBounds } from '../budget-periods.js';
import {
  bucketEndsAt,
  bucketOf,
  type CounterLimits,
  checkRequest,
  checkSettlement,
  checkSubject,
  counterLimits,
  hasBudget,
  REBUILD_ATTEMPTS,
  remainingOf,
  STREAM_RETRY_MS,
  TOMBSTONE_MS,
  WINDOW_MS,
} from './quota-checks.js';
import type { QuotaDecision, QuotaRemaining, QuotaStore, SpendLedger } from './types.js';

export interface MemoryQuotaStoreOptions {
  ledger: SpendLedger;
  /** How long a stream lease or budget hold lives unless renewed (the store renews its open requests). */
  leaseMs: number;
  /** The clock (ms): tests move it instead of waiting. */
  now?: () => number;
}

/** One subject's counters. Maps iterate in insertion order, which is expiry order: purges stop at the first live one. */
interface SubjectState {
  /** The requestsPerMinute log: admitted at (ms), oldest first, from `head`. */
  requests: number[];
  head: number;
  /** tokensPerMinute: second -> tokens admitted in it (at most 62 seconds). */
  buckets: Map<number, number>;
  /** Request id -> its token entry, so settle can correct it. */
  entries: Map<string, { bucket: number; tokens: number }>;
  /** Request id -> lease expiry. */
  streams: Map<string, number>;
  /** Request id -> budget hold. */
  holds: Map<string, { nanos: number; expires: number }>;
  held: number;
}

/**
 * Limits and budgets in this process (one instance, no Redis), with the Redis store's semantics:
 * see redis-quota-store.ts and quota-scripts.ts, whose steps each method follows. Every check and
 * record after the (awaited) ledger reads runs synchronously, so concurrent calls cannot interleave.
 */
export function createMemoryQuotaStore(options: MemoryQuotaStoreOptions): QuotaStore {
  const { ledger, leaseMs } = options;
  const now = options.now ?? Date.now;
  if (!(leaseMs >= 30)) throw new RangeError('quota: leaseMs must be at least 30');
  const subjects = new Map<string, SubjectState>();
  /** Subject -> period -> settled nano-dollars; only the current day and month are kept. */
  const spentBy = new Map<string, Map<string, number>>();
  const settled = new Map<string, number>();
  const open = new Map<string, string[]>();
  const rebuilding = new Map<string, Promise<void>>();

  const state = (subject: string): SubjectState => {
    let s = subjects.get(subject);
    if (!s) {
      s = {
        requests: [],
        head: 0,
        buckets: new Map(),
        entries: new Map(),
        streams: new Map(),
        holds: new Map(),
        held: 0,
      };
      subjects.set(subject, s);
    }
    return s;
  };

  function counters(subject: string, t: number) {
    const { day, month } = budgetPeriods(t);
    const map = spentBy.get(subject);
    if (map) for (const period of map.keys()) if (period !== day && period !== month) map.delete(period);
    return { day, month, map };
  }

  function rebuild(subject: string, period: string): Promise<void> {
    const name = `${subject}|${period}`;
    let pending = rebuilding.get(name);
    if (!pending) {
      pending = (async () => {
        const { from, to } = periodBounds(period);
        const nanos = Math.round(await ledger(subject, from, to));
        const map = spentBy.get(subject) ?? new Map<string, number>();
        spentBy.set(subject, map);
        if (!map.has(period)) map.set(period, nanos);
      })().finally(() => rebuilding.delete(name));
      rebuilding.set(name, pending);
    }
    return pending;
  }

  function purge(s: SubjectState, t: number) {
    while (s.head < s.requests.length && (s.requests[s.head] as number) + WINDOW_MS <= t) s.head++;
    if (s.head > 1024 && s.head * 2 > s.requests.length) {
      s.requests = s.requests.slice(s.head);
      s.head = 0;
    }
    for (const b of s.buckets.keys()) if (bucketEndsAt(b) <= t) s.buckets.delete(b);
    for (const [id, entry] of s.entries) {
      if (bucketEndsAt(entry.bucket) > t) break;
      s.entries.delete(id);
    }
    for (const [id, expires] of s.streams) {
      if (expires > t) break;
      s.streams.delete(id);
    }
    for (const [id, hold] of s.holds) {
      if (hold.expires > t) break;
      s.holds.delete(id);
      s.held -= hold.nanos;
    }
  }

  /** The admit script's check: a refusal, or what remains (null: admit records nothing there). */
  function check(subject: string, limits: CounterLimits, tokens: number, cost: number, t: number) {
    const s = state(subject);
    purge(s, t);
    const refuse = (limit: Extract<QuotaDecision, { admitted: false }>['limit'], wait: number) => ({
      refusal: { admitted: false as const, subject, limit, retryAfterMs: Math.max(1, Math.round(wait)) },
    });
    let leftRequests: number | null = null;
    let leftTokens: number | null = null;
    if (limits.requests !== null) {
      const count = s.requests.length - s.head;
      if (count >= limits.requests) {
        const nth = s.requests[s.head + count - limits.requests];
        return refuse('requestsPerMinute', nth === undefined ? WINDOW_MS : nth + WINDOW_MS - t);
      }
      leftRequests = limits.requests - count - 1;
    }
    if (limits.tokens !== null) {
      if (tokens > limits.tokens) return refuse('tokensPerMinute', WINDOW_MS);
      let sum = 0;
      for (const v of s.buckets.values()) sum += v;
      if (sum + tokens > limits.tokens) {
        for (const b of [...s.buckets.keys()].sort((x, y) => x - y)) {
          sum -= s.buckets.get(b) as number;
          if (sum + tokens <= limits.tokens) return refuse('tokensPerMinute', bucketEndsAt(b) - t);
        }
        return refuse('tokensPerMinute', WINDOW_MS);
      }
      leftTokens = limits.tokens - sum - tokens;
    }
    if (limits.streams !== null && s.streams.size >= limits.streams) {
      const first = s.streams.values().next().value;
      return refuse('concurrentStreams', Math.min(STREAM_RETRY_MS, first === undefined ? STREAM_RETRY_MS : first - t));
    }
    const { day, month, dayEndsAt, monthEndsAt } = budgetPeriods(t);
    const spent = spentBy.get(subject);
    if (limits.dayNanos !== null && (spent?.get(day) as number) + s.held + cost > limits.dayNanos) {
      return refuse('dailyBudgetUsd', dayEndsAt - t);
    }
    if (limits.monthNanos !== null && (spent?.get(month) as number) + s.held + cost > limits.monthNanos) {
      return refuse('monthlyBudgetUsd', monthEndsAt - t);
    }
    return { remaining: remainingOf(subject, limits, leftRequests, leftTokens) };
  }

  function record(id: string, subject: string, limits: CounterLimits, tokens: number, cost: number, t: number) {
    const s = state(subject);
    if (limits.requests !== null) s.requests.push(t);
    if (limits.tokens !== null) {
      const bucket = bucketOf(t);
      s.buckets.set(bucket, (s.buckets.get(bucket) ?? 0) + tokens);
      s.entries.set(id, { bucket, tokens });
    }
    if (limits.streams !== null) s.streams.set(id, t + leaseMs);
    if (hasBudget(limits)) {
      s.holds.set(id, { nanos: cost, expires: t + leaseMs });
      s.held += cost;
    }
  }

  /** Extends live leases and holds of open requests (re-inserted: insertion order stays expiry order). */
  function renew() {
    const t = now();
    for (const [id, held] of open) {
      for (const subject of held) {
        const s = subjects.get(subject);
        if (!s) continue;
        const lease = s.streams.get(id);
        if (lease !== undefined && lease > t) {
          s.streams.delete(id);
          s.streams.set(id, t + leaseMs);
        }
        const hold = s.holds.get(id);
        if (hold && hold.expires > t) {
          s.holds.delete(id);
          s.holds.set(id, { nanos: hold.nanos, expires: t + leaseMs });
        }
      }
    }
    // Forget what has expired everywhere, so idle subjects and old tombstones take no memory.
    for (const [subject, s] of subjects) {
      purge(s, t);
      const empty = s.requests.length === s.head && s.buckets.size === 0 && s.streams.size === 0;
      if (empty && s.holds.size === 0 && s.entries.size === 0) subjects.delete(subject);
    }
    for (const [subject, map] of spentBy) {
      counters(subject, t);
      if (map.size === 0) spentBy.delete(subject);
    }
    for (const [id, expires] of settled) {
      if (expires > t) break;
      settled.delete(id);
    }
  }
  const timer = setInterval(renew, Math.max(10, Math.floor(leaseMs / 3)));
  timer.unref();

  return {
    async admit(request): Promise<QuotaDecision> {
      checkRequest(request);
      const limits = request.subjects.map((s) => counterLimits(s.limits));
      for (let attempt = 1; ; attempt++) {
        const t = now();
        const missing: [string, string][] = [];
        request.subjects.forEach((subject, i) => {
          const { day, month, map } = counters(subject.id, t);
          if (limits[i]?.dayNanos !== null && !map?.has(day)) missing.push([subject.id, day]);
          if (limits[i]?.monthNanos !== null && !map?.has(month)) missing.push([subject.id, month]);
        });
        if (missing.length === 0) {
          const remaining: QuotaRemaining[] = [];
          for (const [i, subject] of request.subjects.entries()) {
            const result = check(subject.id, limits[i] as CounterLimits, request.tokens, request.costNanos, t);
            if ('refusal' in result) return result.refusal;
            remaining.push(result.remaining);
          }
          request.subjects.forEach((subject, i) => {
            record(request.id, subject.id, limits[i] as CounterLimits, request.tokens, request.costNanos, t);
          });
          const held = request.subjects.filter(
            (_, i) => limits[i]?.streams !== null || hasBudget(limits[i] as CounterLimits),
          );
          if (held.length > 0)
            open.set(
              request.id,
              held.map((s) => s.id),
            );
          return { admitted: true, remaining };
        }
        if (attempt === REBUILD_ATTEMPTS) throw new Error('quota: budget counters could not be rebuilt');
        await Promise.all(missing.map(([subject, period]) => rebuild(subject, period)));
      }
    },

    async settle(settlement) {
      checkSettlement(settlement);
      const { id, tokens, costNanos } = settlement;
      const t = now();
      open.delete(id);
      const tombstone = settled.get(id);
      if (tombstone !== undefined && tombstone > t) return;
      settled.delete(id);
      settled.set(id, t + TOMBSTONE_MS);
      for (const subject of settlement.subjects) {
        const s = subjects.get(subject);
        if (s) {
          purge(s, t);
          const entry = s.entries.get(id);
          if (entry) {
            const bucket = s.buckets.get(entry.bucket);
            if (bucket !== undefined) s.buckets.set(entry.bucket, bucket + tokens - entry.tokens);
            s.entries.delete(id);
          }
          s.streams.delete(id);
          const hold = s.holds.get(id);
          if (hold) {
            s.holds.delete(id);
            s.held -= hold.nanos;
          }
        }
        const { day, month, map } = counters(subject, t);
        if (map && costNanos > 0) {
          for (const period of [day, month]) {
            const spent = map.get(period);
            if (spent !== undefined) map.set(period, spent + costNanos);
          }
        }
      }
    },

    async spent(subject) {
      checkSubject(subject);
      for (let attempt = 1; ; attempt++) {
        const { day, month, map } = counters(subject, now());
        const dayNanos = map?.get(day);
        const monthNanos = map?.get(month);
        if (dayNanos !== undefined && monthNanos !== undefined) return { dayNanos, monthNanos };
        if (attempt === REBUILD_ATTEMPTS) throw new Error('quota: spent counters could not be rebuilt');
        await Promise.all([
          dayNanos === undefined && rebuild(subject, day),
          monthNanos === undefined && rebuild(subject, month),
        ]);
      }
    },

    close() {
      clearInterval(timer);
    },
  };
}
