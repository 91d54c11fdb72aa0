import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  handleWhen,
  type RetryPolicy,
  retry,
} from 'cockatiel';
import type { ResilienceConfig } from '../../config/router-schema.js';
import { ProviderError } from '../provider-error.js';
import { cancelledError, timeoutError } from './errors.js';
import type { CircuitStateName, TrafficRecorder } from './traffic-recorder.js';
import type { Deployment } from './types.js';

/**
 * What a failed upstream call means for the rest of the request:
 * - `cancelled`: the caller aborted; stop at once.
 * - `retryable`: transient (connection, timeout, 408/409/429/5xx); retry this deployment with
 *   backoff, then fall back. Counts against its circuit.
 * - `deployment`: this deployment cannot serve (401/403/404, other non-retryable failures without
 *   a client-error status); no retry, fall back to the next. Counts against its circuit.
 * - `request`: upstream rejected the request itself (400, 413, 422 and other 4xx); another
 *   deployment would say the same, so no retry and no fallback. Not held against the deployment.
 */
export type FailureClass = 'cancelled' | 'retryable' | 'deployment' | 'request';

const deploymentStatuses = new Set([401, 403, 404]);

/** Decides retry, fallback and blame for one failure; see FailureClass. */
export function classifyError(error: ProviderError): FailureClass {
  if (error.code === 'CANCELLED') return 'cancelled';
  if (error.retryable) return 'retryable';
  const status = error.status;
  if (status !== undefined && status >= 400 && status < 500 && !deploymentStatuses.has(status)) return 'request';
  return 'deployment';
}

/** Whether the failure says something about the deployment's health (for breaker and error rate). */
export function isDeploymentFault(error: ProviderError): boolean {
  const kind = classifyError(error);
  return kind === 'retryable' || kind === 'deployment';
}

/** Whether the request should stop here rather than try the next deployment. */
export function endsRequest(error: ProviderError): boolean {
  const kind = classifyError(error);
  return kind === 'cancelled' || kind === 'request';
}

/**
 * Full-jitter exponential backoff, random(0, min(max, initial * 2^(n-1))), never shorter than
 * the provider's Retry-After (itself capped at `maxRetryAfterMs`).
 */
export function retryDelayMs(
  config: ResilienceConfig['retry'],
  attempt: number,
  error: unknown,
  random: () => number,
): number {
  const ceiling = Math.min(config.maxDelayMs, config.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  const retryAfter = ProviderError.isInstance(error) ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, Math.min(retryAfter, config.maxRetryAfterMs));
}

/**
 * A retry policy for one request: retries only `retryable` ProviderErrors. Cockatiel's backoff
 * wait cannot be aborted, so its timer is unref'd and a cancellable one keeps the process alive
 * instead; the router races the wait against the request's signal.
 */
export function createRetryPolicy(
  config: ResilienceConfig['retry'],
  random: () => number,
  signal: AbortSignal,
): RetryPolicy {
  const policy = retry(
    handleWhen((error) => ProviderError.isInstance(error) && classifyError(error) === 'retryable'),
    {
      maxAttempts: config.maxRetries,
      backoff: new DelegateBackoff((context) =>
        retryDelayMs(config, context.attempt, 'error' in context.result ? context.result.error : undefined, random),
      ),
    },
  ).dangerouslyUnref();
  policy.onRetry(({ delay }) => holdOpen(delay, signal));
  return policy;
}

/** A timer that keeps the process alive for `ms` unless the signal aborts first. */
function holdOpen(ms: number, signal: AbortSignal): void {
  if (ms <= 0 || signal.aborted) return;
  const timer = setTimeout(() => signal.removeEventListener('abort', release), ms);
  const release = () => clearTimeout(timer);
  signal.addEventListener('abort', release, { once: true });
}

export interface CircuitBreakers {
  /** The deployment's breaker, created on first use and shared by every request after. */
  get(deployment: Deployment): CircuitBreakerPolicy;
}

/** Cockatiel's states in the API's names. */
function circuitStateName(state: CircuitState): CircuitStateName {
  if (state === CircuitState.Closed) return 'CLOSED';
  if (state === CircuitState.HalfOpen) return 'HALF_OPEN';
  return 'OPEN'; // Open and Isolated both refuse calls
}

/**
 * One ConsecutiveBreaker per deployment. It counts failures that say the deployment is unwell
 * (not cancellations or rejected requests) up to the first token, the unit it guards.
 */
export function createCircuitBreakers(config: ResilienceConfig['breaker'], recorder: TrafficRecorder): CircuitBreakers {
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const counts = handleWhen((error) => ProviderError.isInstance(error) && isDeploymentFault(error));
  return {
    get(deployment) {
      let breaker = breakers.get(deployment.id);
      if (!breaker) {
        breaker = circuitBreaker(counts, {
          halfOpenAfter: config.halfOpenAfterMs,
          breaker: new ConsecutiveBreaker(config.failureThreshold),
        });
        breaker.onStateChange((state) =>
          recorder.circuitChanged(deployment.provider.name, deployment.id, circuitStateName(state)),
        );
        breakers.set(deployment.id, breaker);
      }
      return breaker;
    },
  };
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts. The promise is
 * left running (its outcome is swallowed): the caller aborts the work itself through its own signal.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** One routed request's lifetime: the caller's signal joined with the total timeout. */
export interface RequestScope {
  readonly signal: AbortSignal;
  /** Why the scope stopped: CANCELLED by the caller, or the total timeout. */
  stopError(provider: string): ProviderError;
  dispose(): void;
}

/** Starts the total-timeout clock; `dispose()` stops it when the request ends. */
export function createRequestScope(callerSignal: AbortSignal | undefined, totalMs: number): RequestScope {
  const total = new AbortController();
  const timer = setTimeout(() => total.abort(), totalMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, total.signal]) : total.signal;
  return {
    signal,
    stopError: (provider) =>
      callerSignal?.aborted || !total.signal.aborted
        ? cancelledError(provider)
        : timeoutError(provider, `No complete answer within ${totalMs} ms`),
    dispose: () => clearTimeout(timer),
  };
}
