import type { ProviderError } from '../provider-error.js';
import { cancelledError, timeoutError } from './classify-error.js';

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
