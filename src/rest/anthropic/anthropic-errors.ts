import type { ServerResponse } from 'node:http';
import { AppError } from '../../errors.js';
import { BEARER_CHALLENGE } from '../../http/authentication.js';
import { ProviderError } from '../../providers/provider-error.js';

/** The `error.type` Anthropic's API pairs with each status; the official SDK raises its typed error by status. */
const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

export const errorTypeOf = (status: number) =>
  TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

/** An error as Anthropic's API answers it: status, body type, message and the headers that go with it. */
export interface AnthropicError {
  status: number;
  type: string;
  message: string;
  headers: Record<string, string>;
}

/**
 * Maps what a call failed with. Expected failures keep their message; an upstream's own 401 or 403
 * (the gateway's provider key) must not read as the caller's, so it is a 502. Anything else is
 * `null`: an unexpected failure, masked and logged by the caller.
 */
export function anthropicErrorOf(error: unknown): AnthropicError | null {
  if (AppError.isInstance(error)) {
    const retryAfterMs = error.details?.retryAfterMs;
    const headers = typeof retryAfterMs === 'number' ? retryAfterHeaders(retryAfterMs) : {};
    switch (error.code) {
      case 'UNAUTHENTICATED':
        return shaped(401, error.message, { ...BEARER_CHALLENGE });
      case 'FORBIDDEN':
        return shaped(403, error.message);
      case 'NOT_FOUND':
        return shaped(404, error.message);
      case 'BAD_USER_INPUT':
        return shaped(400, error.message);
      // Anthropic's body has no code field: the message leads with ours.
      case 'PII_DETECTED':
        return shaped(400, `${error.code}: ${error.message}`);
      case 'RATE_LIMITED':
        return shaped(429, error.message, headers);
      // A budget does not free up within a client's retries: say so to the SDK.
      case 'BUDGET_EXCEEDED':
        return shaped(429, error.message, { ...headers, 'x-should-retry': 'false' });
      case 'SHUTTING_DOWN':
        return shaped(503, error.message, retryAfterHeaders(1_000));
      default:
        return null;
    }
  }
  if (ProviderError.isInstance(error)) {
    const headers = error.retryAfterMs === undefined ? {} : retryAfterHeaders(error.retryAfterMs);
    if (error.status === 429) return shaped(429, error.message, headers);
    if (error.code === 'PROVIDER_UNAVAILABLE') return shaped(503, error.message, headers);
    if (error.status === 400 || error.status === 413 || error.status === 422) return shaped(400, error.message);
    if (error.status === 404) return shaped(404, error.message);
    return shaped(502, error.message);
  }
  return null;
}

function shaped(status: number, message: string, headers: Record<string, string> = {}): AnthropicError {
  return { status, type: errorTypeOf(status), message, headers };
}

function retryAfterHeaders(ms: number): Record<string, string> {
  return {
    'retry-after': String(Math.max(1, Math.ceil(ms / 1000))),
    'retry-after-ms': String(Math.max(0, Math.round(ms))),
  };
}

/** `{"type":"error","error":{...}}`: the body of an error response and the data of an `error` event. */
export const errorBody = (type: string, message: string, requestId?: string) =>
  JSON.stringify({ type: 'error', error: { type, message }, ...(requestId ? { request_id: requestId } : {}) });

/** Answers with an error in Anthropic's shape (the response must not have started). */
export function writeAnthropicError(
  response: ServerResponse,
  error: Pick<AnthropicError, 'status' | 'message'> & Partial<AnthropicError>,
  requestId?: string,
): void {
  const type = error.type ?? errorTypeOf(error.status);
  response.writeHead(error.status, {
    'content-type': 'application/json',
    ...(requestId ? { 'request-id': requestId } : {}),
    ...error.headers,
  });
  response.end(errorBody(type, error.message, requestId));
}
