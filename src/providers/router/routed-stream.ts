import { BrokenCircuitError, type TimeoutPolicy } from 'cockatiel';
import { ProviderError } from '../provider-error.js';
import type { StreamPart } from '../types.js';
import { raceAbort } from './abort.js';
import type { Balancer } from './balancing/index.js';
import type { CircuitBreakers } from './circuit-breakers.js';
import { classifyError, timeoutError, toProviderError } from './classify-error.js';
import type { ResilienceConfig, StrategyName } from './config-schema.js';
import type { DeploymentStatsStore } from './deployment-stats.js';
import { createIdleWatch } from './idle-watch.js';
import { TIMED_OUT } from './next-part.js';
import { endedEarly, type OpenedStream, openStream, releaseStream, settleFailure } from './open-stream.js';
import { createRequestScope, type RequestScope } from './request-scope.js';
import { createRetryPolicy } from './retry-policy.js';
import { trackCall } from './tracked-call.js';
import type { TrafficRecorder } from './traffic-recorder.js';
import type { Deployment, DeploymentGroup, RoutedChatRequest, RoutedStreamPart } from './types.js';

export interface RoutedStreamDeps {
  resilience: ResilienceConfig;
  balancers: Record<StrategyName, Balancer>;
  breakers: CircuitBreakers;
  stats: DeploymentStatsStore;
  recorder: TrafficRecorder;
  firstTokenLimit: TimeoutPolicy;
  random: () => number;
  now: () => number;
}

/**
 * Runs one request over its deployment groups: each group balanced, each deployment retried
 * (cockatiel retry, breaker, first-token timeout), then the next one, until one answers. Retries
 * and fallbacks stop at the first token; after it a failure ends the stream with an error part.
 */
export async function* routedStream(
  deps: RoutedStreamDeps,
  request: RoutedChatRequest,
  groups: readonly DeploymentGroup[],
): AsyncGenerator<RoutedStreamPart> {
  const startedAt = deps.now();
  const scope = createRequestScope(request.signal, deps.resilience.timeouts.totalMs);
  const chain = groups.flatMap((g) => deps.balancers[g.strategy].order(g.deployments, g.key));
  const failures: Failure[] = [];
  let attempts = 0;
  let opened: OpenedStream | undefined;
  let finished = false;
  try {
    for (const deployment of chain) {
      if (scope.signal.aborted) break;
      try {
        opened = await openWithRetries(deps, deployment, request, scope, () => attempts++);
        break;
      } catch (raw) {
        const error = asProviderError(raw, deployment);
        failures.push({ deployment, error });
        const kind = classifyError(error);
        if (kind === 'cancelled' || kind === 'request') break;
      }
    }
    if (!opened) {
      yield { type: 'error', error: finalError(failures, scope, chain) };
      return;
    }
    const { deployment } = opened;
    yield {
      type: 'start',
      provider: deployment.provider.name,
      kind: deployment.provider.kind,
      model: deployment.model,
      deploymentId: deployment.id,
      attempt: attempts,
      ttftMs: deps.now() - startedAt,
    };
    finished = yield* pump(deps, opened, scope);
  } finally {
    // Also reached when the consumer stops early: release the upstream call.
    if (opened) releaseStream(opened, finished);
    scope.dispose();
  }
}

async function openWithRetries(
  deps: RoutedStreamDeps,
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
      const call = trackCall(deployment, deps.stats, deps.recorder, deps.now);
      const firstTokenMs = deps.resilience.timeouts.firstTokenMs;
      return openStream({ deployment, request, scope, firstTokenLimit: deps.firstTokenLimit, firstTokenMs, call });
    });
  }, scope.signal);
  // A stream that opens just after the request stopped has no reader: release it.
  run.then(
    (late) => scope.signal.aborted && releaseStream(late),
    () => {},
  );
  // The race ends a backoff wait as soon as the caller aborts.
  return raceAbort(run, scope.signal).catch((error: unknown) => {
    throw scope.signal.aborted ? scope.stopError(deployment.provider.name) : error;
  });
}

/**
 * After the first token: relay parts, bounded by the idle timeout, until finish or error.
 * Returns true when the stream finished and its consumer took the finish part.
 */
async function* pump(
  deps: RoutedStreamDeps,
  opened: OpenedStream,
  scope: RequestScope,
): AsyncGenerator<StreamPart, boolean> {
  const { iterator, call } = opened;
  const name = opened.deployment.provider.name;
  const { idleMs } = deps.resilience.timeouts;
  const idle = createIdleWatch(idleMs, scope.signal);
  let part: StreamPart = opened.first;
  try {
    for (;;) {
      if (part.type === 'finish') {
        call.succeeded();
        yield part;
        return true;
      }
      if (part.type === 'error') {
        const error = scope.signal.aborted ? scope.stopError(name) : part.error;
        opened.abort();
        settleFailure(call, error);
        yield { type: 'error', error };
        return false;
      }
      yield part;
      try {
        const result = await idle.next(iterator);
        if (result === TIMED_OUT) throw timeoutError(name, `${name} sent nothing for ${idleMs} ms`);
        part = result.done ? { type: 'error', error: endedEarly(name) } : result.value;
      } catch (raw) {
        part = { type: 'error', error: scope.signal.aborted ? scope.stopError(name) : toProviderError(raw, name) };
      }
    }
  } finally {
    idle.dispose();
  }
}

function asProviderError(raw: unknown, deployment: Deployment): ProviderError {
  if (raw instanceof BrokenCircuitError) {
    return new ProviderError({
      provider: deployment.provider.name,
      code: 'PROVIDER_UNAVAILABLE',
      message: `${deployment.id}: circuit open after repeated failures`,
      retryable: false,
      cause: raw,
    });
  }
  return toProviderError(raw, deployment.provider.name);
}

interface Failure {
  deployment: Deployment;
  error: ProviderError;
}

/** The stop reason, the one failure, or a summary of all of them keeping the last one's code. */
function finalError(failures: Failure[], scope: RequestScope, chain: Deployment[]): ProviderError {
  const last = failures.at(-1)?.error;
  if (scope.signal.aborted) return scope.stopError(last?.provider ?? chain[0]?.provider.name ?? 'router');
  if (!last) {
    return new ProviderError({ provider: 'router', code: 'PROVIDER_UNAVAILABLE', message: 'No deployment to try' });
  }
  if (failures.length === 1) return last;
  const summary = failures.map((f) => `${f.deployment.id} (${f.error.message})`).join('; ');
  return new ProviderError({
    provider: last.provider,
    code: last.code,
    status: last.status,
    retryAfterMs: last.retryAfterMs,
    retryable: last.retryable,
    message: `All ${failures.length} deployments failed: ${summary}`,
    cause: new AggregateError(failures.map((f) => f.error)),
  });
}
