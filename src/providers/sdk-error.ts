import { isRetryableStatus, ProviderError } from './provider-error.js';
import { type HeaderSource, parseRetryAfter } from './retry-after.js';

export interface ErrorContext {
  provider: string;
  /** The caller's signal: when it has fired, any failure is a cancellation. */
  signal?: AbortSignal | undefined;
  /**
   * `request`: before a response arrived, so a failure without a status is a connection error.
   * `stream`: while reading the body, so it is a broken upstream (cut or malformed).
   */
  phase: 'request' | 'stream';
  /** Response headers when the SDK error does not carry them (Ollama). */
  headers?: HeaderSource | undefined;
}

/**
 * Maps whatever an SDK threw into a ProviderError: a status decides code and retryability
 * (408/409/429/5xx retry), `Retry-After` becomes `retryAfterMs`, an abort becomes CANCELLED.
 */
export function toProviderError(error: unknown, ctx: ErrorContext): ProviderError {
  if (ProviderError.isInstance(error)) return error;
  const { provider } = ctx;
  if (ctx.signal?.aborted) {
    return new ProviderError({
      provider,
      code: 'CANCELLED',
      message: `${provider}: request cancelled`,
      retryable: false,
      cause: error,
    });
  }
  const status = statusOf(error);
  const message = `${provider}: ${describe(error)}`;
  if (status !== undefined) {
    const retryAfterMs = parseRetryAfter(headersOf(error) ?? ctx.headers);
    const code = isRetryableStatus(status) ? 'PROVIDER_UNAVAILABLE' : 'UPSTREAM_ERROR';
    return new ProviderError({ provider, code, message, status, retryAfterMs, cause: error });
  }
  const code = ctx.phase === 'request' ? 'PROVIDER_UNAVAILABLE' : 'UPSTREAM_ERROR';
  return new ProviderError({ provider, code, message, cause: error });
}

/** Runs an SDK call and rejects with a ProviderError. */
export async function guard<T>(ctx: ErrorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toProviderError(error, ctx);
  }
}

/** `status` on the OpenAI and Anthropic SDK errors, `status_code` on Ollama's ResponseError. */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { status?: unknown; status_code?: unknown };
  const status = record.status ?? record.status_code;
  return typeof status === 'number' ? status : undefined;
}

function headersOf(error: unknown): HeaderSource | undefined {
  const headers = (error as { headers?: unknown } | null)?.headers;
  return typeof headers === 'object' && headers !== null && typeof (headers as HeaderSource).get === 'function'
    ? (headers as HeaderSource)
    : undefined;
}

/** The SDK message, plus the system error code under it ("Connection error." alone says little). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return `${error.message} (${code})`;
    cause = cause.cause;
  }
  return error.message || error.name;
}
