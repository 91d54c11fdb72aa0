import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type PiiMode, parsePiiMode, strictestPiiMode } from '../privacy/pii-modes.js';
import type { PubSub } from '../pubsub/pubsub.js';
import { fromNanos, hasAnyLimit, type LimitName, type Limits, limitsFromJson } from './limits.js';
import type { PriceBook, PricedModel } from './prices/types.js';
import type { QuotaDecision, QuotaStore, QuotaSubject } from './quota/types.js';
import type { Viewer } from './viewer.js';

/** Who a generation is charged to. */
export type Caller = Pick<Viewer, 'userId' | 'apiKeyId' | 'via'>;

export interface AdmitRequest {
  caller: Caller;
  /** Every deployment the request may reach (fallbacks included): the hold is priced at the dearest. */
  candidates: PricedModel[];
  /** The prompt as the real tokenizer counted it. */
  promptTokens: number;
  /** The most the reply may use: the request's maxTokens, else the configured reserve. */
  maxOutputTokens: number;
}

/** The real usage of a generation, whatever its end. */
export interface Charge {
  promptTokens: number;
  completionTokens: number;
  /** Null when the model has no known price (no budget can apply then: such requests are refused). */
  costNanos: number | null;
}

export interface Admission {
  /** `x-ratelimit-*` headers for the response (OpenAI's names); empty when no per-minute limit applies. */
  headers: Record<string, string>;
  /** Whether a budget applies: the reply must then be capped at `maxOutputTokens`. */
  budgeted: boolean;
  /** Settles the hold to the real usage and frees the stream slot. Idempotent; never throws. */
  settle(charge: Charge): Promise<void>;
}

export interface BudgetStatus {
  dailyLimitUsd: number | null;
  dailySpentUsd: number;
  monthlyLimitUsd: number | null;
  monthlySpentUsd: number;
}

export interface UsagePolicy {
  /** Admits a generation, or throws RATE_LIMITED / BUDGET_EXCEEDED before anything is written or sent. */
  admit(request: AdmitRequest): Promise<Admission>;
  /** The caller's key budget (or, without a key, the user's) now. */
  budget(caller: Caller): Promise<BudgetStatus>;
  /** Stored limits of a key and a user (null: none set), as last read. */
  limitsOf(caller: Caller): Promise<{ key: Limits | null; user: Limits | null }>;
  /**
   * The privacy mode a caller's requests run under: the strictest of the config file's, its
   * user's, its key's and the keys' that made it (a key cannot make a looser one). Cached and
   * forgotten as limits are.
   */
  piiModeOf(caller: Caller): Promise<PiiMode>;
  /** Forgets the cached limits (and privacy mode) of `key:<id>` or `user:<id>` here and on every instance. */
  changed(subject: string): Promise<void>;
  /** The config file's `limits:`, which bind every API key (and JWT session) without limits of its own. */
  defaultLimits(): Limits | null;
  close(): void;
}

export interface UsagePolicyDeps {
  db: Db;
  quota: QuotaStore;
  prices: PriceBook;
  /** The config file's `limits:`: for API keys (and JWT sessions) without limits of their own. */
  defaults: Limits | null;
  /** The config file's `pii.mode`: the least protective mode any request runs under. */
  piiDefault?: PiiMode | undefined;
  pubsub: PubSub;
  logger: Logger;
}

interface StoredSubject {
  limits: Limits | null;
  piiMode: PiiMode | null;
  /** The key that made this key (see api-keys.ts), whose limits bind it too. */
  parent: string | null;
}

/** Keys made by keys made by keys...: the chain checked is bounded (ten keys deep is plenty). */
const MAX_KEY_ANCESTRY = 10;

/** Limits are read at most this often per key and user; `setLimits` reaches every instance at once. */
const LIMITS_TTL_MS = 30_000;

const NOT_ADMITTED = { headers: {}, budgeted: false, settle: async () => {} } satisfies Admission;

export function createUsagePolicy(deps: UsagePolicyDeps): UsagePolicy {
  const { db, quota, prices, defaults, logger } = deps;
  const cache = new LRUCache<string, StoredSubject>({ max: 20_000, ttl: LIMITS_TTL_MS });

  const listening = deps.pubsub.subscribe('limitsChanged');
  (async () => {
    for await (const subject of listening) cache.delete(subject);
  })().catch((error) => logger.error('limits listener stopped', { error }));

  /** A subject's stored limits and, for a key made by another key, that key's id. */
  async function stored(subject: string): Promise<StoredSubject> {
    const hit = cache.get(subject);
    if (hit) return hit;
    const [kind, id] = subject.split(':') as ['key' | 'user', string];
    const entry =
      kind === 'key'
        ? await db.apiKey
            .findUnique({ where: { id }, select: { limits: true, parentKeyId: true, piiMode: true } })
            .then((row) => ({
              limits: limitsFromJson(row?.limits),
              piiMode: parsePiiMode(row?.piiMode),
              parent: row?.parentKeyId ?? null,
            }))
        : await db.user.findUnique({ where: { id }, select: { limits: true, piiMode: true } }).then((row) => ({
            limits: limitsFromJson(row?.limits),
            piiMode: parsePiiMode(row?.piiMode),
            parent: null,
          }));
    cache.set(subject, entry);
    return entry;
  }

  async function limitsOf(caller: Caller) {
    const [key, user] = await Promise.all([
      caller.apiKeyId ? stored(`key:${caller.apiKeyId}`) : null,
      stored(`user:${caller.userId}`),
    ]);
    return { key: key?.limits ?? null, user: user.limits };
  }

  /** The subjects a caller is charged to, with the limits that apply to each (none: not listed). */
  async function subjectsOf(caller: Caller): Promise<QuotaSubject[]> {
    const subjects: QuotaSubject[] = [];
    const userStored = stored(`user:${caller.userId}`);
    // The key, then the keys that made it: each one's limits (or the defaults) bind the request.
    let keyId = caller.apiKeyId;
    for (let depth = 0; keyId && depth < MAX_KEY_ANCESTRY; depth++) {
      const { limits, parent } = await stored(`key:${keyId}`);
      const applied = limits ?? defaults;
      if (hasAnyLimit(applied)) subjects.push({ id: `key:${keyId}`, limits: applied });
      keyId = parent;
    }
    const { limits: user } = await userStored;
    // A JWT session has no key: the defaults stand in for the user's own limits. The admin key
    // and the loopback default are the operator: only limits set on the user bind them.
    const userLimits = user ?? (caller.via === 'jwt' ? defaults : null);
    if (hasAnyLimit(userLimits)) subjects.push({ id: `user:${caller.userId}`, limits: userLimits });
    return subjects;
  }

  function reservationNanos(request: AdmitRequest): number | null {
    let dearest = 0;
    for (const candidate of request.candidates) {
      const cost = prices.costNanos(candidate, {
        promptTokens: heldPromptTokens(candidate.kind, request.promptTokens),
        completionTokens: request.maxOutputTokens,
      });
      if (cost === null) return null;
      dearest = Math.max(dearest, cost);
    }
    return dearest;
  }

  function refusal(decision: Extract<QuotaDecision, { admitted: false }>): AppError {
    const { limit, retryAfterMs } = decision;
    const whose = decision.subject.startsWith('key:') ? "this API key's" : "this user's";
    const budget = limit === 'dailyBudgetUsd' || limit === 'monthlyBudgetUsd';
    return new AppError(
      budget ? 'BUDGET_EXCEEDED' : 'RATE_LIMITED',
      `${whose} ${LIMIT_TEXT[limit]} is used up; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
      { limit, retryAfterMs },
    );
  }

  async function piiModeOf(caller: Caller): Promise<PiiMode> {
    const modes: (PiiMode | null | undefined)[] = [deps.piiDefault];
    const user = stored(`user:${caller.userId}`);
    let keyId = caller.apiKeyId;
    for (let depth = 0; keyId && depth < MAX_KEY_ANCESTRY; depth++) {
      const { piiMode, parent } = await stored(`key:${keyId}`);
      modes.push(piiMode);
      keyId = parent;
    }
    modes.push((await user).piiMode);
    return strictestPiiMode(...modes);
  }

  return {
    limitsOf,
    piiModeOf,
    async admit(request) {
      const subjects = await subjectsOf(request.caller);
      if (subjects.length === 0) return NOT_ADMITTED;
      const budgeted = subjects.some((s) => s.limits.dailyBudgetUsd !== null || s.limits.monthlyBudgetUsd !== null);
      const costNanos = reservationNanos(request);
      if (budgeted && costNanos === null) {
        throw new AppError(
          'BUDGET_EXCEEDED',
          'This model has no known price, so a budget cannot cover it; add it under `prices:` in the config file',
          { limit: 'price', retryAfterMs: null },
        );
      }
      const id = randomUUID();
      const tokens = request.promptTokens + request.maxOutputTokens;
      let decision: QuotaDecision;
      try {
        decision = await quota.admit({ id, subjects, tokens, costNanos: costNanos ?? 0 });
      } catch (error) {
        // Fail closed: limits that cannot be checked are not waived (budgets above all).
        logger.error('limits could not be checked', { error });
        throw new AppError('RATE_LIMITED', 'Limits cannot be checked right now; try again shortly', {
          limit: 'unavailable',
          retryAfterMs: 1_000,
        });
      }
      if (!decision.admitted) throw refusal(decision);
      let settled = false;
      return {
        headers: rateLimitHeaders(decision.remaining),
        budgeted,
        async settle(charge) {
          if (settled) return;
          settled = true;
          await quota
            .settle({
              id,
              subjects: subjects.map((s) => s.id),
              tokens: charge.promptTokens + charge.completionTokens,
              costNanos: charge.costNanos ?? 0,
            })
            .catch((error) => logger.error('could not settle usage', { error, request: id }));
        },
      };
    },
    async budget(caller) {
      const { key, user } = await limitsOf(caller);
      const subject = caller.apiKeyId ? `key:${caller.apiKeyId}` : `user:${caller.userId}`;
      const limits = caller.apiKeyId ? (key ?? defaults) : (user ?? (caller.via === 'jwt' ? defaults : null));
      const spent = await quota.spent(subject);
      return {
        dailyLimitUsd: limits?.dailyBudgetUsd ?? null,
        dailySpentUsd: fromNanos(spent.dayNanos),
        monthlyLimitUsd: limits?.monthlyBudgetUsd ?? null,
        monthlySpentUsd: fromNanos(spent.monthNanos),
      };
    },
    async changed(subject) {
      cache.delete(subject);
      await deps.pubsub.publish('limitsChanged', subject);
    },
    defaultLimits: () => defaults,
    close() {
      listening.return?.();
    },
  };
}

/**
 * The prompt a hold is priced for. The gateway counts with OpenAI's tokenizer; other providers
 * count the same text with their own, Anthropic's up to about a third more, so their holds get a
 * margin: a provider billing more prompt than the hold assumed would otherwise spend past a budget.
 */
function heldPromptTokens(kind: string, counted: number): number {
  return kind === 'openai' ? counted : Math.ceil(counted * FOREIGN_TOKENIZER_MARGIN);
}

const FOREIGN_TOKENIZER_MARGIN = 1.4;

const LIMIT_TEXT: Record<LimitName, string> = {
  requestsPerMinute: 'requests per minute',
  tokensPerMinute: 'tokens per minute',
  concurrentStreams: 'concurrent streams',
  dailyBudgetUsd: 'daily budget',
  monthlyBudgetUsd: 'monthly budget',
};

/** The tightest remaining of all subjects, under the names OpenAI uses. */
function rateLimitHeaders(remaining: Extract<QuotaDecision, { admitted: true }>['remaining']) {
  const headers: Record<string, string> = {};
  const tightest = (pick: (r: (typeof remaining)[number]) => number | null) => {
    const values = remaining.map(pick).filter((v): v is number => v !== null);
    return values.length === 0 ? null : Math.min(...values);
  };
  const limitRequests = tightest((r) => r.limitRequests);
  const remainingRequests = tightest((r) => r.remainingRequests);
  const limitTokens = tightest((r) => r.limitTokens);
  const remainingTokens = tightest((r) => r.remainingTokens);
  if (limitRequests !== null) headers['x-ratelimit-limit-requests'] = String(limitRequests);
  if (remainingRequests !== null) headers['x-ratelimit-remaining-requests'] = String(Math.max(0, remainingRequests));
  if (limitTokens !== null) headers['x-ratelimit-limit-tokens'] = String(limitTokens);
  if (remainingTokens !== null) headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, remainingTokens));
  return headers;
}
