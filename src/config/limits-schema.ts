import { z } from 'zod';

/** Bounds that keep every counter exact as a double (Redis Lua numbers) and every sum in range. */
export const LIMIT_BOUNDS = {
  requestsPerMinute: 1_000_000,
  tokensPerMinute: 1_000_000_000_000,
  concurrentStreams: 100_000,
  /** USD: nano-dollar counters stay below 2^53. */
  dailyBudgetUsd: 1_000_000,
  monthlyBudgetUsd: 1_000_000,
} as const;

const count = (max: number) => z.number().int().min(0).max(max).nullable().optional();
const usd = (max: number) => z.number().finite().min(0).max(max).nullable().optional();

/** The config file's `limits:` (defaults for keys without their own) and the stored JSON. */
export const limitsSchema = z.strictObject({
  requestsPerMinute: count(LIMIT_BOUNDS.requestsPerMinute),
  tokensPerMinute: count(LIMIT_BOUNDS.tokensPerMinute),
  concurrentStreams: count(LIMIT_BOUNDS.concurrentStreams),
  dailyBudgetUsd: usd(LIMIT_BOUNDS.dailyBudgetUsd),
  monthlyBudgetUsd: usd(LIMIT_BOUNDS.monthlyBudgetUsd),
});
