import type { z } from 'zod';
import { LIMIT_BOUNDS, limitsSchema } from '../config/limits-schema.js';
import { badInput } from '../errors.js';

/**
 * What one API key or one user may use. A user's limits cover all of its keys; a request must fit
 * both, so the tighter one wins. Null (or absent): no limit of that kind.
 */
export interface Limits {
  /** Generation requests (chat, sendMessage, REST completions) in any 60 s window. */
  requestsPerMinute: number | null;
  /** Prompt + completion tokens in any 60 s window: reserved at start, corrected to real usage. */
  tokensPerMinute: number | null;
  /** Generations running at once. */
  concurrentStreams: number | null;
  /** USD per UTC day, reserved before sending and settled to the real cost. */
  dailyBudgetUsd: number | null;
  /** USD per UTC calendar month. */
  monthlyBudgetUsd: number | null;
}

export type LimitName = keyof Limits;

export const LIMIT_NAMES: readonly LimitName[] = [
  'requestsPerMinute',
  'tokensPerMinute',
  'concurrentStreams',
  'dailyBudgetUsd',
  'monthlyBudgetUsd',
];

export const NO_LIMITS: Limits = {
  requestsPerMinute: null,
  tokensPerMinute: null,
  concurrentStreams: null,
  dailyBudgetUsd: null,
  monthlyBudgetUsd: null,
};

export { LIMIT_BOUNDS, limitsSchema };
export type LimitsInput = z.input<typeof limitsSchema>;

/** Absent and null both mean "no limit". */
const complete = (input: LimitsInput): Limits => ({
  requestsPerMinute: input.requestsPerMinute ?? null,
  tokensPerMinute: input.tokensPerMinute ?? null,
  concurrentStreams: input.concurrentStreams ?? null,
  dailyBudgetUsd: input.dailyBudgetUsd ?? null,
  monthlyBudgetUsd: input.monthlyBudgetUsd ?? null,
});

/** A client's LimitsInput, checked: BAD_USER_INPUT naming the field and its allowed range. */
export function checkLimitsInput(input: unknown): Limits {
  const result = limitsSchema.safeParse(input ?? {});
  if (result.success) return complete(result.data);
  const issue = result.error.issues[0];
  const field = String(issue?.path[0] ?? 'limits');
  const max = LIMIT_BOUNDS[field as LimitName];
  const kind = field.endsWith('Usd') ? 'a number of USD' : 'a whole number';
  throw badInput(`limits.${field} must be null or ${kind} from 0 to ${max ?? 'its maximum'}`, { field });
}

/** A stored JSON column, read defensively: anything unreadable is no limits, never a crash. */
export function limitsFromJson(json: unknown): Limits | null {
  if (json === null || json === undefined) return null;
  const result = limitsSchema.safeParse(json);
  return result.success ? complete(result.data) : null;
}

/** The JSON stored for `limits`: only the set fields; null when none is set. */
export function limitsToJson(limits: Limits): Record<string, number> | null {
  const set = Object.entries(limits).filter(([, value]) => value !== null);
  return set.length === 0 ? null : Object.fromEntries(set);
}

export const hasAnyLimit = (limits: Limits | null | undefined): limits is Limits =>
  limits != null && LIMIT_NAMES.some((name) => limits[name] !== null);

/** USD to integer nano-dollars: budgets are counted in whole units so that sums are exact. */
export const toNanos = (usd: number) => Math.round(usd * 1e9);
export const fromNanos = (nanos: number) => nanos / 1e9;
