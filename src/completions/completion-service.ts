import type { DrainGate } from '../chat/drain-gate.js';
import type { ConfigFile } from '../config-file.js';
import type { SqlRunner } from '../db/sql-runner.js';
import { badInput } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GenerationEnd, Metrics } from '../metrics/index.js';
import type { PriceBook } from '../policy/prices/types.js';
import type { Caller, UsagePolicy } from '../policy/usage-policy.js';
import { createPiiSession } from '../privacy/pii-session.js';
import { ProviderError } from '../providers/provider-error.js';
import {
  type EmbedResult,
  fitPrompt,
  needsOf,
  type RoutedChatRequest,
  type RoutedStreamPart,
  type Router,
} from '../providers/router/index.js';
import type { TokenUsage } from '../providers/types.js';
import { countTokens } from '../util/count-tokens.js';
import { NO_LONGER_NEEDED } from '../util/no-longer-needed.js';
import { createTokenTally } from '../util/token-tally.js';
import { promptTokens } from './prompt-tokens.js';
import { assertRoutableModel } from './routable-model.js';
import { insertUsageEvent } from './usage-event.js';

/** A generation that is not stored as a conversation: the REST endpoints' calls. */
export interface CompletionRequest extends Omit<RoutedChatRequest, 'plan' | 'signal' | 'allowedModels'> {
  caller: Caller;
  /** The caller's API key's models (null: all). */
  allowedModels: readonly string[] | null;
  /** Aborts the upstream call (the client went away); the call is then charged as CANCELLED. */
  signal: AbortSignal;
  /** `performance.now()` when the request arrived: the usage event's latency counts from here. */
  receivedAt: number;
  /** Told how the call ended, as the metrics are (the access log's tokens and cost). */
  onEnd?: ((end: GenerationEnd) => void) | undefined;
}

export interface Completion {
  /** `x-ratelimit-*` headers for the response. */
  headers: Record<string, string>;
  /** The prompt as the gateway counted it for admission (before any provider reports its own). */
  promptTokens: number;
  /**
   * The router's parts: `start`, text and tool-call parts, then one `finish` or `error`. Iterate
   * it to the end or stop early (the upstream call is then aborted); either way the call is
   * settled and its usage event written when the iteration ends. A caller that never iterates
   * must call `discard`.
   */
  parts: AsyncIterable<RoutedStreamPart>;
  /** Frees the admission of a completion whose parts will never be read. */
  discard(): Promise<void>;
}

/**
 * An embedding call of a REST caller: admitted under its per-minute limits (by the gateway's count
 * of the input), charged and recorded as a usage event by the tokens the provider reported.
 */
export interface EmbeddingRequest {
  model: string;
  input: string[];
  dimensions?: number;
  caller: Caller;
  allowedModels: readonly string[] | null;
  signal: AbortSignal;
  receivedAt: number;
  /** Told how the call ended, as the metrics are (the access log's tokens and cost). */
  onEnd?: ((end: GenerationEnd) => void) | undefined;
}

export interface EmbeddingResult extends EmbedResult {
  /** The input's tokens as charged: the provider's report, else the gateway's own count. */
  promptTokens: number;
  headers: Record<string, string>;
}

export interface CompletionService {
  /**
   * Plans, checks and admits a call, then returns its parts. Throws AppError before anything is
   * sent upstream: BAD_USER_INPUT, FORBIDDEN, PII_DETECTED, RATE_LIMITED, BUDGET_EXCEEDED, SHUTTING_DOWN.
   */
  complete(request: CompletionRequest): Promise<Completion>;
  /** Embeds through the router's embed. Throws AppError (as complete does) or the last ProviderError. */
  embed(request: EmbeddingRequest): Promise<EmbeddingResult>;
  /** Calls still streaming in this process. */
  readonly running: number;
  /** Resolves when every running call ended, or when `signal` aborts (their upstream calls are then aborted). */
  drain(signal: AbortSignal): Promise<void>;
}

export interface CompletionServiceDeps {
  sql: SqlRunner;
  router: Router;
  usage: UsagePolicy;
  prices: PriceBook;
  gate: DrainGate;
  settings: ConfigFile['chat'];
  logger: Logger;
  /** Told once per call how it went. */
  metrics?: Pick<Metrics, 'generationEnded'> | undefined;
}

export function createCompletionService(deps: CompletionServiceDeps): CompletionService {
  const { sql, router, usage, prices, gate, settings, logger, metrics } = deps;
  const running = new Map<AbortController, Promise<void>>();

  function assertKnownModel(model: string | undefined, provider: string | undefined): void {
    if (model === undefined || model === '' || provider !== undefined) return;
    assertRoutableModel(router, model);
  }

  async function complete(request: CompletionRequest): Promise<Completion> {
    gate.assertOpen();
    assertKnownModel(request.model, request.provider);
    const plan = router.plan({
      model: request.model,
      provider: request.provider,
      temperature: request.temperature,
      allowedModels: request.allowedModels,
      needs: needsOf(request),
    });
    // Counted in turns of the event loop, and only until it is past the window.
    const counted = await promptTokens(request, plan.contextWindow - (request.maxTokens ?? 0));
    const prompt = counted.tokens;
    const reserved = request.maxTokens ?? settings.defaultReservedOutputTokens;
    if (counted.over) {
      throw badInput(
        `The prompt (${counted.exact ? '' : 'more than '}${prompt} tokens${request.maxTokens ? ` plus max_tokens ${request.maxTokens}` : ''}) does not fit ${plan.budgetedFor.id}'s context window of ${plan.contextWindow} tokens`,
        { field: 'messages', contextWindow: plan.contextWindow, promptTokens: prompt },
      );
    }
    // The caller's privacy policy: `block` refuses here, before anything is admitted or sent.
    const pii = createPiiSession(await usage.piiModeOf(request.caller));
    pii.check(request.messages, request);
    const admission = await usage.admit({
      caller: request.caller,
      candidates: plan.groups.flatMap((g) =>
        g.deployments.map((d) => ({ kind: d.provider.kind, model: d.model, provider: d.provider.name })),
      ),
      promptTokens: prompt,
      maxOutputTokens: reserved,
    });
    if (gate.closed) {
      await admission.settle(NOTHING);
      gate.assertOpen();
    }

    const controller = new AbortController();
    const signal = AbortSignal.any([request.signal, controller.signal]);
    let started = false;
    const routed: RoutedChatRequest = {
      ...request,
      // Under a budget the reply is capped at what was reserved, so spend cannot pass the hold.
      maxTokens: request.maxTokens ?? (admission.budgeted ? reserved : undefined),
      plan: fitPrompt(plan, prompt + reserved),
      signal,
    };

    async function* parts(): AsyncGenerator<RoutedStreamPart> {
      let done: () => void = () => {};
      running.set(controller, new Promise<void>((resolve) => (done = resolve)));
      let provider: string | null = null;
      let kind: string | null = null;
      let model: string | null = null;
      let text = '';
      let reported: TokenUsage | null = null;
      let partial: Partial<TokenUsage> | undefined;
      let status: 'COMPLETE' | 'FAILED' | 'CANCELLED' = 'CANCELLED';
      let errorCode: string | null = null;
      let ttftMs: number | null = null;
      let chunks = 0;
      try {
        for await (const part of pii.wrap(router.stream)(routed)) {
          if (part.type === 'start') ({ provider, kind, model, ttftMs } = part);
          else if (part.type === 'text-delta') {
            text += part.text;
            chunks++;
          } else if (part.type === 'tool-call-delta') text += part.argumentsDelta;
          else if (part.type === 'finish') {
            reported = part.usage;
            status = 'COMPLETE';
          } else if (part.type === 'error') {
            provider ??= part.error.provider;
            partial = part.usage;
            status = part.error.code === 'CANCELLED' || request.signal.aborted ? 'CANCELLED' : 'FAILED';
            errorCode = status === 'CANCELLED' ? 'CANCELLED' : part.error.code;
          }
          yield part;
        }
      } finally {
        controller.abort(NO_LONGER_NEEDED);
        // Once a provider answered, every end is charged: its reported usage, else what it
        // reported before the cut, else the gateway's count of the prompt and the text it got.
        const trusted =
          reported !== null && (text === '' || reported.promptTokens + reported.completionTokens > 0) ? reported : null;
        const charged =
          trusted ??
          (kind === null
            ? null
            : {
                promptTokens: partial?.promptTokens ?? prompt,
                completionTokens: Math.max(partial?.completionTokens ?? 0, text === '' ? 0 : countTokens(text)),
              });
        const costNanos =
          charged && kind && model ? prices.costNanos({ kind, model, provider: provider ?? undefined }, charged) : null;
        const latencyMs = performance.now() - request.receivedAt;
        const end: GenerationEnd = {
          provider,
          model: model ?? request.model ?? null,
          usage: charged,
          costNanos,
          durationMs: latencyMs,
          ttftMs,
          chunks,
          // A client that stopped reading early ended it: CANCELLED, as it is charged.
          errorCode: status === 'COMPLETE' ? null : (errorCode ?? 'CANCELLED'),
        };
        metrics?.generationEnded(end);
        request.onEnd?.(end);
        try {
          if (charged && provider && model) {
            // Bounded: a database that stopped answering must not hold the call (and its
            // admission) open; it is then logged and not charged, as a failed write is.
            await withinMs(
              RECORD_TIMEOUT_MS,
              'the usage event write',
              insertUsageEvent(sql, {
                userId: request.caller.userId,
                apiKeyId: request.caller.apiKeyId,
                provider,
                model,
                usage: charged,
                costNanos,
                status,
                latencyMs,
                estimated: trusted === null,
              }),
            );
          }
          // Charged only as recorded: budgets are rebuilt from the usage events.
          await admission.settle(charged ? { ...charged, costNanos } : NOTHING);
        } catch (error) {
          logger.error('could not record a call', { error });
          await admission.settle(NOTHING);
        } finally {
          running.delete(controller);
          done();
        }
      }
    }

    return {
      headers: admission.headers,
      promptTokens: prompt,
      parts: {
        [Symbol.asyncIterator]() {
          if (started) throw new Error('a completion is read once');
          started = true;
          return parts();
        },
      },
      discard: () => (started ? Promise.resolve() : admission.settle(NOTHING)),
    };
  }

  async function embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    gate.assertOpen();
    assertKnownModel(request.model, undefined);
    const resolution = router.resolve({ model: request.model });
    const candidates = request.allowedModels
      ? router.plan({ model: request.model, allowedModels: request.allowedModels }).chain
      : resolution.chain;
    const tally = createTokenTally();
    for (const text of request.input) await tally.count(text);
    const counted = tally.tokens;
    const admission = await usage.admit({
      caller: request.caller,
      candidates: candidates.map((d) => ({ kind: d.provider.kind, model: d.model, provider: d.provider.name })),
      promptTokens: counted,
      maxOutputTokens: 0,
    });
    let charge = NOTHING as { promptTokens: number; completionTokens: number; costNanos: number | null };
    const ended = (end: Omit<GenerationEnd, 'operation' | 'durationMs' | 'ttftMs' | 'chunks'>) => {
      const full: GenerationEnd = {
        ...end,
        operation: 'embeddings',
        durationMs: performance.now() - request.receivedAt,
        ttftMs: null,
        chunks: 0,
      };
      metrics?.generationEnded(full);
      request.onEnd?.(full);
    };
    try {
      let result: EmbedResult;
      try {
        result = await router.embed({
          model: request.model,
          input: request.input,
          dimensions: request.dimensions,
          signal: request.signal,
        });
      } catch (error) {
        // No deployment answered: nothing is charged; the metrics and the access line get its code.
        if (ProviderError.isInstance(error))
          ended({
            provider: error.provider,
            model: request.model,
            usage: null,
            costNanos: null,
            errorCode: error.code,
          });
        throw error;
      }
      // What the provider reported is what it bills; the gateway's count only stands in for none.
      const used = { promptTokens: result.usage?.promptTokens ?? counted, completionTokens: 0 };
      const kind = candidates.find((d) => d.provider.name === result.provider)?.provider.kind ?? result.provider;
      const costNanos = prices.costNanos({ kind, model: result.model, provider: result.provider }, used);
      await insertUsageEvent(sql, {
        userId: request.caller.userId,
        apiKeyId: request.caller.apiKeyId,
        provider: result.provider,
        model: result.model,
        usage: used,
        costNanos,
        status: 'COMPLETE',
        latencyMs: performance.now() - request.receivedAt,
        estimated: result.usage === undefined,
      });
      charge = { ...used, costNanos };
      ended({ provider: result.provider, model: result.model, usage: used, costNanos, errorCode: null });
      return { ...result, promptTokens: used.promptTokens, headers: admission.headers };
    } finally {
      await admission.settle(charge);
    }
  }

  return {
    complete,
    embed,
    get running() {
      return running.size;
    },
    async drain(signal) {
      const all = Promise.all(running.values());
      const stop = new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await Promise.race([all, stop]);
      for (const controller of running.keys()) controller.abort();
      await Promise.all(running.values());
    },
  };
}

const NOTHING = { promptTokens: 0, completionTokens: 0, costNanos: 0 };

/** How long a finished call waits for its usage event to be written before giving up on it. */
export const RECORD_TIMEOUT_MS = 10_000;

/** `promise`, or a rejection naming `what` once `ms` passed (the promise itself runs on). */
function withinMs<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  // A write that fails after the deadline has already been reported as late.
  promise.catch(() => {});
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
