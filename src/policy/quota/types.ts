import type { LimitName, Limits } from '../limits.js';

/**
 * The atomic counters behind limits and budgets. One implementation keeps them in process (one
 * instance), the other in Redis with Lua scripts (exact across instances). Both have the same
 * semantics, and the same tests run against both.
 *
 * Money is in integer nano-dollars (1e-9 USD): sums of many tiny costs stay exact.
 */

/** Who a request is charged to: `key:<uuid>` or `user:<uuid>`, with that subject's limits. */
export interface QuotaSubject {
  id: string;
  limits: Limits;
}

/** UTC budget periods: `day` is YYYY-MM-DD, `month` YYYY-MM. */
export interface BudgetPeriods {
  day: string;
  month: string;
  /** When the day and month end (ms since epoch), for retryAfterMs and key expiry. */
  dayEndsAt: number;
  monthEndsAt: number;
}

export interface QuotaRequest {
  /** Unique per generation: names its window entries, its stream lease and its budget hold. */
  id: string;
  subjects: QuotaSubject[];
  /** Tokens reserved against tokensPerMinute: the prompt plus the most the reply may use. */
  tokens: number;
  /** Nano-dollars held against budgets: the most the request can cost. */
  costNanos: number;
}

/** What is left of a subject's per-minute limits right after an admission (null: no such limit). */
export interface QuotaRemaining {
  subject: string;
  limitRequests: number | null;
  remainingRequests: number | null;
  limitTokens: number | null;
  remainingTokens: number | null;
}

export type QuotaDecision =
  | { admitted: true; remaining: QuotaRemaining[] }
  | {
      admitted: false;
      /** The subject whose limit refused (`key:...` or `user:...`). */
      subject: string;
      limit: LimitName;
      /** When trying again can succeed: the oldest window entry's expiry, the next UTC day or month. */
      retryAfterMs: number;
    };

export interface QuotaSettlement {
  /** The QuotaRequest's id. */
  id: string;
  /** The subject ids the request was admitted under. */
  subjects: string[];
  /** Real tokens (prompt + completion): the window entry is corrected to this. */
  tokens: number;
  /** Real cost: the hold is released and this is added to the spent amount. */
  costNanos: number;
}

/** Settled spend of one subject in the current periods, holds excluded. */
export interface SubjectSpend {
  dayNanos: number;
  monthNanos: number;
}

/**
 * Reads the record (Postgres usage events) when a budget counter is missing: after a restart
 * without Redis, or when Redis lost its data. Returns nano-dollars spent by the subject in [from, to).
 */
export type SpendLedger = (subject: string, from: Date, to: Date) => Promise<number>;

export interface QuotaStore {
  /**
   * Checks every limit of every subject and, only when all fit, records the request in all of
   * them at once (a window entry, a stream lease, a budget hold). A refusal changes nothing.
   */
  admit(request: QuotaRequest): Promise<QuotaDecision>;
  /**
   * The end of an admitted request, whatever the end: corrects its token entry, frees its stream
   * slot, turns its hold into the real cost. Idempotent: a second call changes nothing.
   */
  settle(settlement: QuotaSettlement): Promise<void>;
  /** Settled spend in the current UTC day and month (holds excluded), rebuilt from the ledger if missing. */
  spent(subject: string): Promise<SubjectSpend>;
  /** Stops the lease renewal timer; Redis connections belong to the caller. */
  close(): void;
}
