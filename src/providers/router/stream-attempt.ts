import type { TimeoutPolicy } from 'cockatiel';
import type { ResilienceConfig } from '../../config/router-schema.js';
import type { Tracing } from '../../tracing/index.js';
import type { ProviderError } from '../provider-error.js';
import { saneReportedSoFar, saneUsage } from '../reported-usage.js';
import type { StreamPart } from '../types.js';
import { type AttemptSpan, startAttemptSpan } from './attempt-span.js';
import type { DeploymentStatsStore } from './balancing.js';
import { asProviderError, endedEarly, timeoutError } from './errors.js';
import { type CircuitBreakers, createRetryPolicy, endsRequest, type RequestScope, raceAbort } from './resilience.js';
import type { TrafficRecorder } from './traffic-recorder.js';
import type { Deployment, RoutedChatRequest } from './types.js';

export interface AttemptDeps {
  resilience: ResilienceConfig;
  breakers: CircuitBreakers;
  stats: DeploymentStatsStore;
  recorder: TrafficRecorder;
  /** The first-token limit, shared by every call (cockatiel, cooperative). */
  firstTokenLimit: TimeoutPolicy;
  random: () => number;
  now: () => number;
  /** A `chat {model}` span per upstream call when tracing is on. */
  tracing?: Tracing | undefined;
}

/** A deployment that has answered: its first part (text, or the finish of an empty reply) and the rest. */
export interface OpenedStream {
  deployment: Deployment;
  first: Exclude<StreamPart, { type: 'error' }>;
  iterator: AsyncIterator<StreamPart>;
  /** Aborts this upstream call only. */
  abort(): void;
  call: TrackedCall;
}

/**
 * One deployment up to its first token: retried (cockatiel retry with backoff) through its
 * circuit breaker, each call bounded by the first-token timeout. Rejects with the last failure,
 * or the request's stop reason as soon as it stops (a backoff wait included).
 */
export async function openWithRetries(
  deps: AttemptDeps,
  deployment: Deployment,
  request: RoutedChatRequest,
  scope: RequestScope,
  countAttempt: () => void,
): Promise<OpenedStream> {
  const retry = createRetryPolicy(deps.resilience.retry, deps.random, scope.signal);
  const breaker = deps.breakers.get(deployment);
  const run = retry.execute(() => {
    if (scope.signal.aborted) throw scope.stopError(deployment.provider.name);
    return breaker.execute(() => {
      countAttempt();
      return openStream(deps, deployment, request, scope);
    });
  }, scope.signal);
  // A stream that opens just after the request stopped has no reader: release it.
  run.then(
    (late) => scope.signal.aborted && releaseStream(late),
    () => {},
  );
  return raceAbort(run, scope.signal).catch((error: unknown) => {
    throw scope.signal.aborted ? scope.stopError(deployment.provider.name) : error;
  });
}

/**
 * One upstream call up to its first token. Throws a ProviderError (an error part, a timeout, the
 * request's stop reason) so that cockatiel's retry and breaker policies see the failure.
 */
async function openStream(
  deps: AttemptDeps,
  deployment: Deployment,
  request: RoutedChatRequest,
  scope: RequestScope,
): Promise<OpenedStream> {
  const name = deployment.provider.name;
  const call = trackCall(deps, deployment, request);
  const controller = new AbortController();
  const abort = () => controller.abort();
  let iterator: AsyncIterator<StreamPart> | undefined;
  try {
    if (scope.signal.aborted) throw scope.stopError(name);
    iterator = deployment.provider
      .stream({
        model: deployment.model,
        messages: request.messages,
        temperature: request.temperature,
        maxTokens: request.maxTokens,
        stop: request.stop,
        tools: request.tools,
        toolChoice: request.toolChoice,
        responseFormat: request.responseFormat,
        signal: AbortSignal.any([scope.signal, controller.signal]),
      })
      [Symbol.asyncIterator]();
    const result = await firstPart(deps.firstTokenLimit, iterator, scope.signal);
    if (result === TIMED_OUT) {
      throw timeoutError(name, `${name} sent no first token within ${deps.resilience.timeouts.firstTokenMs} ms`);
    }
    if (result.done) throw endedEarly(name);
    const part = result.value;
    if (part.type === 'error') throw part.error;
    call.firstToken();
    return { deployment, first: part, iterator, abort, call };
  } catch (raw) {
    abort();
    iterator?.return?.().catch(() => {});
    const error = scope.signal.aborted ? scope.stopError(name) : asProviderError(raw, deployment);
    settleFailure(call, error);
    throw error;
  }
}

const TIMED_OUT = Symbol('timed out');

/** The upstream's first part within the policy's time limit; a pending `next()` is abandoned. */
function firstPart(
  limit: TimeoutPolicy,
  iterator: AsyncIterator<StreamPart>,
  outer: AbortSignal,
): Promise<IteratorResult<StreamPart> | typeof TIMED_OUT> {
  return limit.execute(async ({ signal }) => {
    try {
      return await raceAbort(iterator.next(), signal);
    } catch (error) {
      if (signal.aborted && !outer.aborted) return TIMED_OUT;
      throw error;
    }
  }, outer);
}

/**
 * After the first token: relay parts, bounded by the idle timeout, until finish or error.
 * Returns true when the stream finished and its consumer took the finish part.
 */
export async function* relayStream(
  deps: AttemptDeps,
  opened: OpenedStream,
  scope: RequestScope,
): AsyncGenerator<StreamPart, boolean> {
  const { iterator, call, deployment } = opened;
  const name = deployment.provider.name;
  const { idleMs } = deps.resilience.timeouts;
  const idle = createIdleWatch(idleMs, scope.signal);
  let part: StreamPart = opened.first;
  try {
    for (;;) {
      call.span.part(part);
      if (part.type === 'finish') {
        call.succeeded();
        // Every charge downstream trusts these counts: checked once, here, for every provider.
        yield { ...part, usage: saneUsage(part.usage) };
        return true;
      }
      if (part.type === 'error') {
        const error = scope.signal.aborted ? scope.stopError(name) : part.error;
        opened.abort();
        settleFailure(call, error);
        // What the provider reported before the cut is what the generation is charged.
        yield part.usage ? { type: 'error', error, usage: saneReportedSoFar(part.usage) } : { type: 'error', error };
        return false;
      }
      yield part;
      try {
        const result = await idle.next(iterator);
        if (result === TIMED_OUT) throw timeoutError(name, `${name} sent nothing for ${idleMs} ms`);
        part = result.done ? { type: 'error', error: endedEarly(name) } : result.value;
      } catch (raw) {
        part = {
          type: 'error',
          error: scope.signal.aborted ? scope.stopError(name) : asProviderError(raw, deployment),
        };
      }
    }
  } finally {
    idle.dispose();
  }
}

/**
 * Ends an opened upstream call that nobody will read further; a no-op for the call once settled.
 * A call that finished has read its whole response: aborting it would only cost an exception and
 * its events, so it is just closed.
 */
export function releaseStream(opened: OpenedStream, finished = false): void {
  if (!finished) opened.abort();
  opened.iterator.return?.().catch(() => {});
  opened.call.abandoned(finished ? undefined : CLIENT_GONE);
}

/** Why an opened call nobody reads further ends, on its span. */
const CLIENT_GONE = { code: 'CANCELLED' } as ProviderError;

/** Settles the call by what the failure says about the deployment. */
function settleFailure(call: TrackedCall, error: ProviderError): void {
  if (endsRequest(error)) call.abandoned(error);
  else call.failed(error);
}

/** One upstream call, reported to the balancing figures and the traffic recorder; settles once. */
interface TrackedCall {
  firstToken(): void;
  succeeded(): void;
  failed(error: ProviderError): void;
  /** `error`: why, for the span (a cancellation, an invalid request). */
  abandoned(error?: ProviderError): void;
  span: AttemptSpan;
}

function trackCall(
  { stats, recorder, now, tracing }: AttemptDeps,
  deployment: Deployment,
  request: RoutedChatRequest,
): TrackedCall {
  const startedAt = now();
  const span = startAttemptSpan(tracing, deployment, request);
  const handle = recorder.callStarted(deployment.provider.name, deployment.id, 'chat');
  stats.begin(deployment.id);
  let settled = false;
  const settle = (report: () => void, error?: ProviderError) => {
    if (settled) return;
    settled = true;
    stats.end(deployment.id);
    report();
    span.end(error);
  };
  return {
    firstToken() {
      const ttftMs = now() - startedAt;
      stats.recordTtft(deployment.id, ttftMs);
      handle.firstToken(ttftMs);
      span.firstChunk(ttftMs);
    },
    succeeded: () => settle(() => handle.succeeded()),
    failed: (error) => settle(() => handle.failed(error), error),
    abandoned: (error) => settle(() => handle.abandoned(), error),
    span,
  };
}

interface IdleWatch {
  next(iterator: AsyncIterator<StreamPart>): Promise<IteratorResult<StreamPart> | typeof TIMED_OUT>;
  dispose(): void;
}

type Waiter = {
  settle: (outcome: IteratorResult<StreamPart> | typeof TIMED_OUT) => void;
  fail: (error: unknown) => void;
};

/**
 * Waits for a stream's parts, each within `ms` of asking for it. One timer and one abort listener
 * for a whole stream, re-armed at every wait: a timeout policy, or even adding and removing a
 * listener, per part costs enough per token to show at high concurrency. Time the consumer spends
 * between parts does not count. Resolves TIMED_OUT when a wait runs out; rejects with the outer
 * signal's reason when the request stops. A pending `next()` is abandoned then (the caller aborts
 * the upstream call).
 */
function createIdleWatch(ms: number, outer: AbortSignal): IdleWatch {
  let waiter: Waiter | undefined;
  const take = () => {
    const current = waiter;
    waiter = undefined;
    return current;
  };
  const timer = setTimeout(() => take()?.settle(TIMED_OUT), ms);
  const onAbort = () => take()?.fail(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  return {
    next(iterator) {
      if (outer.aborted) return Promise.reject(outer.reason);
      timer.refresh();
      const pending = new Promise<IteratorResult<StreamPart> | typeof TIMED_OUT>((settle, fail) => {
        waiter = { settle, fail };
      });
      const mine = waiter;
      iterator.next().then(
        (result) => waiter === mine && take()?.settle(result),
        (error: unknown) => waiter === mine && take()?.fail(error),
      );
      return pending;
    },
    dispose: () => {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    },
  };
}
