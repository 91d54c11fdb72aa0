import { LIMIT_BOUNDS, type Limits, toNanos } from '../limits.js';
import type { QuotaRemaining, QuotaRequest, QuotaSettlement } from './types.js';

/**
 * What both quota stores share: the checks on their input (a programming error, not a client's:
 * the usage policy builds every request) and the limits as the counters compare them.
 */

/** A subject per API key and per user: more would be a bug upstream. */
const MAX_SUBJECTS = 4;
const SUBJECT = /^(key|user):[A-Za-z0-9-]{1,64}$/;
/** The most one request may reserve or be charged, in tokens and nano-dollars: exact as doubles. */
const MAX_TOKENS = LIMIT_BOUNDS.tokensPerMinute;
const MAX_NANOS = 2 ** 52;

const isCount = (value: number, max: number) => Number.isSafeInteger(value) && value >= 0 && value <= max;

function checkId(id: string) {
  if (typeof id !== 'string' || id.length === 0 || id.length > 100 || /[{}\s]/.test(id)) {
    throw new RangeError(`quota: bad request id ${JSON.stringify(id)}`);
  }
}

function checkSubjects(subjects: readonly string[]) {
  if (subjects.length === 0 || subjects.length > MAX_SUBJECTS) {
    throw new RangeError(`quota: 1 to ${MAX_SUBJECTS} subjects, not ${subjects.length}`);
  }
  for (const subject of subjects) {
    if (!SUBJECT.test(subject)) throw new RangeError(`quota: bad subject ${JSON.stringify(subject)}`);
  }
}

function checkAmounts(tokens: number, costNanos: number) {
  if (!isCount(tokens, MAX_TOKENS)) throw new RangeError(`quota: bad token count ${tokens}`);
  if (!isCount(costNanos, MAX_NANOS)) throw new RangeError(`quota: bad cost ${costNanos} nano-dollars`);
}

export function checkRequest(request: QuotaRequest) {
  checkId(request.id);
  checkSubjects(request.subjects.map((s) => s.id));
  checkAmounts(request.tokens, request.costNanos);
}

export function checkSettlement(settlement: QuotaSettlement) {
  checkId(settlement.id);
  checkSubjects(settlement.subjects);
  checkAmounts(settlement.tokens, settlement.costNanos);
}

export function checkSubject(subject: string) {
  checkSubjects([subject]);
}

/** A subject's limits as the counters compare them: budgets in nano-dollars. */
export interface CounterLimits {
  requests: number | null;
  tokens: number | null;
  streams: number | null;
  dayNanos: number | null;
  monthNanos: number | null;
}

export function counterLimits(limits: Limits): CounterLimits {
  return {
    requests: limits.requestsPerMinute,
    tokens: limits.tokensPerMinute,
    streams: limits.concurrentStreams,
    dayNanos: limits.dailyBudgetUsd === null ? null : toNanos(limits.dailyBudgetUsd),
    monthNanos: limits.monthlyBudgetUsd === null ? null : toNanos(limits.monthlyBudgetUsd),
  };
}

export const hasBudget = (limits: CounterLimits) => limits.dayNanos !== null || limits.monthNanos !== null;

/** The `remaining` of an admission for one subject. */
export function remainingOf(
  subject: string,
  limits: CounterLimits,
  remainingRequests: number | null,
  remainingTokens: number | null,
): QuotaRemaining {
  return {
    subject,
    limitRequests: limits.requests,
    remainingRequests: limits.requests === null ? null : remainingRequests,
    limitTokens: limits.tokens,
    remainingTokens: limits.tokens === null ? null : remainingTokens,
  };
}

/** A token window bucket (one second) counts until 61 s after it starts: each entry a full 60 s. */
export const bucketOf = (now: number) => Math.floor(now / 1000);
export const bucketEndsAt = (bucket: number) => (bucket + 61) * 1000;
export const WINDOW_MS = 60_000;
/** A refused stream is worth retrying this soon (or when the nearest lease expires, if sooner). */
export const STREAM_RETRY_MS = 1_000;
/** How long a settled request's id is remembered, so that a repeated settle changes nothing. */
export const TOMBSTONE_MS = 10 * 60_000;
/** Attempts at rebuilding missing budget counters before an admit gives up (a period can roll over between). */
export const REBUILD_ATTEMPTS = 3;
