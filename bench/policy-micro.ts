import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Db } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { createPriceBook } from '../src/policy/prices/price-book.js';
import { createMemoryQuotaStore, createRedisQuotaStore, type QuotaStore } from '../src/policy/quota/index.js';
import { createUsagePolicy } from '../src/policy/usage-policy.js';
import { createAppPubSub } from '../src/pubsub/pubsub.js';
import { median, summarise } from './stats.js';

/** A key without limits; with every limit and both budgets in process; the same in Redis. */
export type PolicyMicroVariant = 'none' | 'limits-memory' | 'limits-redis';

export interface PolicyMicroRow {
  variant: PolicyMicroVariant;
  calls: number;
  /** Median over the repeats of each repeat's p50 (and mean) of one admit + settle, one at a time, in µs. */
  p50Us: number;
  meanUs: number;
  /** Median over the repeats of the mean µs of CPU this process spent per admit + settle. */
  cpuUs: number;
  repeats: { p50Us: number; meanUs: number; cpuUs: number }[];
}

/**
 * What the usage policy itself costs a chat, in process: `admit()` then `settle()`, as chat-service
 * and the generation runner call them, with the real price book and quota stores (Redis: the local
 * server, keys of random subjects that expire) and the stored limits answered from memory.
 */
export async function benchPolicyMicro(
  limits: Record<string, number>,
  prices: Record<string, { input: number; output: number }>,
  calls = 1_000,
  repeats = 5,
): Promise<PolicyMicroRow[]> {
  const logger = createLogger('silent');
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
  const ledger = async () => 0;
  const stores: Record<PolicyMicroVariant, () => QuotaStore> = {
    none: () => createMemoryQuotaStore({ ledger, leaseMs: 60_000 }),
    'limits-memory': () => createMemoryQuotaStore({ ledger, leaseMs: 60_000 }),
    'limits-redis': () => createRedisQuotaStore({ redis, ledger, leaseMs: 60_000 }),
  };
  const rows: PolicyMicroRow[] = [];
  try {
    for (const variant of ['none', 'limits-memory', 'limits-redis'] as const) {
      const stored = variant === 'none' ? null : limits;
      // Only what the policy reads: the key's and the user's limits.
      const db = {
        apiKey: { findUnique: async () => ({ limits: stored }) },
        user: { findUnique: async () => ({ limits: null }) },
      } as unknown as Db;
      const quota = stores[variant]();
      const policy = createUsagePolicy({
        db,
        quota,
        prices: createPriceBook({ overrides: prices }),
        defaults: null,
        pubsub: createAppPubSub(undefined, logger),
        logger,
      });
      const caller = { userId: randomUUID(), apiKeyId: randomUUID(), via: 'api-key' as const };
      const request = {
        caller,
        candidates: [{ kind: 'openai', model: 'gpt-4o-mini', provider: 'openai' }],
        promptTokens: 20,
        maxOutputTokens: 1_024,
      };
      const charge = { promptTokens: 20, completionTokens: 8, costNanos: 7_800 };
      const once = async () => {
        const admission = await policy.admit(request);
        await admission.settle(charge);
      };
      try {
        const first = await policy.admit(request);
        if ((variant === 'none') !== (Object.keys(first.headers).length === 0 && !first.budgeted)) {
          throw new Error(`${variant}: admitted as ${JSON.stringify(first)}`);
        }
        await first.settle(charge);
        for (let i = 0; i < 200; i++) await once();
        const runs: PolicyMicroRow['repeats'] = [];
        for (let r = 0; r < repeats; r++) {
          const samples: number[] = [];
          const cpu0 = process.cpuUsage();
          for (let i = 0; i < calls; i++) {
            const t0 = performance.now();
            await once();
            samples.push((performance.now() - t0) * 1_000);
          }
          const cpu = process.cpuUsage(cpu0);
          const s = summarise(samples);
          runs.push({ p50Us: s.p50, meanUs: s.mean, cpuUs: (cpu.user + cpu.system) / calls });
        }
        rows.push({
          variant,
          calls,
          p50Us: median(runs.map((r) => r.p50Us)),
          meanUs: median(runs.map((r) => r.meanUs)),
          cpuUs: median(runs.map((r) => r.cpuUs)),
          repeats: runs,
        });
      } finally {
        policy.close();
        quota.close();
      }
    }
  } finally {
    redis.disconnect();
  }
  return rows;
}
