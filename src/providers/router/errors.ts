import { BrokenCircuitError } from 'cockatiel';
import { AppError } from '../../errors.js';
import { ProviderError } from '../provider-error.js';
import type { Deployment } from './types.js';

/** What the caller could have asked for instead; goes into both the message and the details. */
export interface RouteChoices {
  providers: string[];
  aliases: string[];
  defaultModel: string;
}

/** BAD_USER_INPUT naming what was asked, why it cannot be routed, and what is available. */
export function routeError(
  problem: string,
  asked: { model?: string | undefined; provider?: string | undefined },
  choices: RouteChoices,
): AppError {
  const aliases = choices.aliases.length > 0 ? choices.aliases.join(', ') : 'none';
  const text = `Available providers: ${choices.providers.join(', ') || 'none'}; aliases: ${aliases}; default model: ${choices.defaultModel}.`;
  return new AppError('BAD_USER_INPUT', `${problem} ${text}`, {
    model: asked.model ?? null,
    provider: asked.provider ?? null,
    availableProviders: choices.providers,
    aliases: choices.aliases,
    defaultModel: choices.defaultModel,
  });
}

/**
 * Whatever a deployment's call threw, as a ProviderError. Adapters only ever yield ProviderErrors;
 * an open circuit is PROVIDER_UNAVAILABLE (fall back, no retry); anything else is wrapped, not retried.
 */
export function asProviderError(error: unknown, deployment: Deployment): ProviderError {
  if (ProviderError.isInstance(error)) return error;
  const provider = deployment.provider.name;
  if (error instanceof BrokenCircuitError) {
    return new ProviderError({
      provider,
      code: 'PROVIDER_UNAVAILABLE',
      message: `${deployment.id}: circuit open after repeated failures`,
      retryable: false,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError({ provider, code: 'UPSTREAM_ERROR', message, retryable: false, cause: error });
}

/** The caller stopped the request: never retried, never held against a provider. */
export function cancelledError(provider: string): ProviderError {
  return new ProviderError({ provider, code: 'CANCELLED', message: 'Request was cancelled', retryable: false });
}

/** A time limit passed: the provider is too slow right now, which is worth another try. */
export function timeoutError(provider: string, message: string): ProviderError {
  return new ProviderError({ provider, code: 'PROVIDER_UNAVAILABLE', message, retryable: true });
}

/** A stream that stops without `finish` or `error` was cut: treat it as a (retryable) upstream failure. */
export function endedEarly(provider: string): ProviderError {
  return new ProviderError({
    provider,
    code: 'UPSTREAM_ERROR',
    message: `${provider} ended the stream without a finish`,
  });
}

export interface Failure {
  deployment: Deployment;
  error: ProviderError;
}

/**
 * What a request that no deployment answered ends with: the stop reason, the one failure, or a
 * summary of all of them keeping the last one's code.
 */
export function finalError(failures: readonly Failure[], stopped: ProviderError | undefined): ProviderError {
  const last = failures.at(-1)?.error;
  if (stopped) return stopped;
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
