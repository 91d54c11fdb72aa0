import type { RouterConfig } from '../../config/router-schema.js';
import { AppError } from '../../errors.js';
import type { ProviderError } from '../provider-error.js';
import { asProviderError } from './errors.js';
import { type CircuitBreakers, createRetryPolicy, endsRequest } from './resilience.js';
import type { TrafficRecorder } from './traffic-recorder.js';
import type { Deployment, EmbedResult, RoutedEmbedRequest, RouteResolution } from './types.js';

export interface EmbedDeps {
  retry: RouterConfig['resilience']['retry'];
  random: () => number;
  recorder: TrafficRecorder;
  /** The router's breakers, one per deployment, shared with chat. */
  breakers: CircuitBreakers;
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
  const signal = request.signal ?? new AbortController().signal;
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
              embed({ model: deployment.model, input: request.input, dimensions: request.dimensions, signal }),
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
