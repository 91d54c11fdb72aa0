import type { Redis } from 'ioredis';
import { createMemoryQuotaStore } from './memory-quota-store.js';
import { createRedisQuotaStore } from './redis-quota-store.js';
import type { QuotaStore, SpendLedger } from './types.js';

export { createMemoryQuotaStore, type MemoryQuotaStoreOptions } from './memory-quota-store.js';
export { createRedisQuotaStore, type RedisQuotaStoreOptions } from './redis-quota-store.js';
export type * from './types.js';

export interface QuotaStoreOptions {
  /** The command client: limits are then exact across instances. Without it: this process only. */
  redis?: Redis;
  ledger: SpendLedger;
  /** How long a stream lease or budget hold outlives an instance that stopped renewing it. */
  leaseMs: number;
}

/** The quota store for this deployment: Redis when configured, else in process. */
export function createQuotaStore({ redis, ledger, leaseMs }: QuotaStoreOptions): QuotaStore {
  return redis ? createRedisQuotaStore({ redis, ledger, leaseMs }) : createMemoryQuotaStore({ ledger, leaseMs });
}
