import type { ErrorCode } from '../errors.js';

const marker = Symbol.for('switchyard.ProviderError');

export type ProviderErrorCode = Extract<ErrorCode, 'PROVIDER_UNAVAILABLE' | 'UPSTREAM_ERROR' | 'CANCELLED'>;

export interface ProviderErrorInit {
  provider: string;
  code: ProviderErrorCode;
  message: string;
  /** HTTP status from upstream, where there was a response. */
  status?: number;
  /** Parsed from `Retry-After` / `retry-after-ms`, capped by the caller's policy. */
  retryAfterMs?: number;
  /** Defaults from the status: connection errors, 408, 409, 429 and 5xx retry; other 4xx do not. */
  retryable?: boolean;
  cause?: unknown;
}

/** A typed failure of one upstream call. */
export class ProviderError extends Error {
  readonly [marker] = true;
  readonly provider: string;
  readonly code: ProviderErrorCode;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;

  constructor(init: ProviderErrorInit) {
    super(init.message, { cause: init.cause });
    this.name = 'ProviderError';
    this.provider = init.provider;
    this.code = init.code;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.retryable = init.retryable ?? isRetryableStatus(init.status);
  }

  static isInstance(value: unknown): value is ProviderError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** `undefined` means no response at all (connection refused, reset, DNS): worth retrying. */
export function isRetryableStatus(status: number | undefined): boolean {
  if (status === undefined) return true;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
