import { DelegateBackoff, handleWhen, type RetryPolicy, retry } from 'cockatiel';
import { ProviderError } from '../provider-error.js';
import { holdOpen } from './abort.js';
import { classifyError } from './classify-error.js';
import type { ResilienceConfig } from './config-schema.js';

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
