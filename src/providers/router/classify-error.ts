import { ProviderError } from '../provider-error.js';

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

/** Adapters should only ever yield ProviderErrors; anything else thrown is wrapped, not retried. */
export function toProviderError(error: unknown, provider: string): ProviderError {
  if (ProviderError.isInstance(error)) return error;
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
