import type { RouterConfig } from '../../config/router-schema.js';
import { AppError } from '../../errors.js';
import type { ProviderError } from '../provider-error.js';
import { asProviderError, timeoutError } from './errors.js';
import { type CircuitBreakers, createRequestScope, createRetryPolicy, endsRequest } from './resilience.js';
import type { TrafficRecorder } from './traffic-recorder.js';
import type { Deployment, EmbedResult, RoutedEmbedRequest, RouteResolution } from './types.js';

export interface EmbedDeps {
  retry: RouterConfig['resilience']['retry'];
  random: () => number;
  recorder: TrafficRecorder;
  /** The router's breakers, one per deployment, shared with chat. */
  breakers: CircuitBreakers;
  /** `embeddingMs` bounds each upstream call (its whole answer), `totalMs` the request with its retries and fallbacks. */
  timeouts: Pick<RouterConfig['resilience']['timeouts'], 'embeddingMs' | 'totalMs'>;
}

/**
 * Embeds with the first deployment of the route that can, as chat calls a deployment: through its
 * circuit breaker, retrying transient failures, then falling back. Each upstream call is reported
 * to the recorder (health, `switchyard_upstream_calls_total`), and retries and fallbacks as
 * chat's are, all as `embeddings`. Throws BAD_USER_INPUT when no deployment embeds, else the last
 * ProviderError.
 */
export async function embedWithChain(
  deps: EmbedDeps,
  { chain }: RouteResolution,
  request: RoutedEmbedRequest,
): Promise<EmbedResult> {
  const capable = chain.filter((d) => d.capabilities.embeddings && typeof d.provider.embed === 'function');
  if (capable.length === 0) {
    const tried = chain.map((d) => d.id).join(', ');
    throw new AppError('BAD_USER_INPUT', `None of ${tried} can embed.`, { deployments: chain.map((d) => d.id) });
  }
  const scope = createRequestScope(request.signal, deps.timeouts.totalMs);
  try {
    return await embedWithin(deps, capable, request, scope.signal, scope.stopError);
  } finally {
    scope.dispose();
  }
}

async function embedWithin(
  deps: EmbedDeps,
  capable: Deployment[],
  request: RoutedEmbedRequest,
  signal: AbortSignal,
  stopError: (provider: string) => ProviderError,
): Promise<EmbedResult> {
  let lastError: ProviderError | undefined;
  let left: Deployment | undefined;
  for (const deployment of capable) {
    const embed = deployment.provider.embed?.bind(deployment.provider);
    if (!embed) continue;
    if (left) deps.recorder.fellBack?.(left.provider.name, left.id, 'embeddings');
    const breaker = deps.breakers.get(deployment);
    let tries = 0;
    try {
      const { embeddings, usage } = await createRetryPolicy(deps.retry, deps.random, signal).execute(
        () =>
          breaker.execute(() => {
            if (tries++ > 0) deps.recorder.retried?.(deployment.provider.name, deployment.id, 'embeddings');
            return reported(deps.recorder, deployment, () =>
              withinTimeout(deployment.provider.name, deps.timeouts.embeddingMs, signal, stopError, (bounded) =>
                embed({
                  model: deployment.model,
                  input: request.input,
                  dimensions: request.dimensions,
                  signal: bounded,
                }),
              ),
            );
          }),
        signal,
      );
      return { embeddings, provider: deployment.provider.name, model: deployment.model, usage };
    } catch (raw) {
      lastError = asProviderError(raw, deployment);
      if (endsRequest(lastError)) break;
      left = deployment;
    }
  }
  throw lastError;
}

/**
 * One upstream call bounded by `ms`: past it the call is aborted and fails as a retryable
 * timeout (the next try or the fallback follows); when the request itself stopped (the caller
 * left, or its total time ran out) it fails with why.
 */
async function withinTimeout<T>(
  provider: string,
  ms: number,
  outer: AbortSignal,
  stopError: (provider: string) => ProviderError,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const own = new AbortController();
  const timer = setTimeout(() => own.abort(), ms);
  try {
    return await call(AbortSignal.any([outer, own.signal]));
  } catch (error) {
    if (outer.aborted) throw stopError(provider);
    if (own.signal.aborted) throw timeoutError(provider, `${provider} sent no embeddings within ${ms} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One upstream embedding call, reported to the recorder as a chat call is: a failure that says
 * nothing of the deployment (a cancellation, an invalid request) is abandoned, not failed.
 */
async function reported<T>(recorder: TrafficRecorder, deployment: Deployment, call: () => Promise<T>): Promise<T> {
  const handle = recorder.callStarted(deployment.provider.name, deployment.id, 'embeddings');
  try {
    const result = await call();
    handle.succeeded();
    return result;
  } catch (raw) {
    const error = asProviderError(raw, deployment);
    if (endsRequest(error)) handle.abandoned();
    else handle.failed(error);
    throw error;
  }
}
