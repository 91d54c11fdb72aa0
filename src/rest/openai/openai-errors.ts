import type { ServerResponse } from 'node:http';
import { AppError } from '../../errors.js';
import { noteCode } from '../../http/access-record.js';
import { BEARER_CHALLENGE } from '../../http/authentication.js';
import { ProviderError } from '../../providers/provider-error.js';
import { sendJson } from '../json-response.js';
import { restErrorCode } from '../rest-error-code.js';

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface OpenAIFailure {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
}

const body = (message: string, type: string, code: string | null, param: string | null = null): OpenAIErrorBody => ({
  error: { message, type, param, code },
});

/** The status, body and headers OpenAI would answer for a failure; anything unexpected is masked. */
export function toOpenAIFailure(error: unknown): OpenAIFailure {
  if (ProviderError.isInstance(error)) return upstreamFailure(error.code, error.message);
  if (!AppError.isInstance(error)) {
    return {
      status: 500,
      body: body('The server had an error processing the request', 'server_error', null),
      headers: {},
    };
  }
  const field = typeof error.details?.field === 'string' ? error.details.field : null;
  switch (error.code) {
    case 'BAD_USER_INPUT': {
      // A body too large (413) or too slow (408) keeps its status.
      const status =
        error.details?.httpStatus === 408 || error.details?.httpStatus === 413 ? error.details.httpStatus : 400;
      return { status, body: body(error.message, 'invalid_request_error', null, field), headers: {} };
    }
    case 'PII_DETECTED':
      // The kinds found, never the values: the message names them.
      return {
        status: 400,
        body: body(error.message, 'invalid_request_error', 'pii_detected', 'messages'),
        headers: {},
      };
    case 'UNAUTHENTICATED':
      return {
        status: 401,
        body: body(error.message, 'invalid_request_error', 'invalid_api_key'),
        headers: { ...BEARER_CHALLENGE },
      };
    case 'FORBIDDEN':
      return { status: 403, body: body(error.message, 'permission_error', 'permission_denied'), headers: {} };
    case 'NOT_FOUND':
      // A stored row (a conversation named by x-switchyard-conversation) carries its id; else a model.
      return {
        status: 404,
        body:
          typeof error.details?.id === 'string'
            ? body(error.message, 'invalid_request_error', 'not_found')
            : body(error.message, 'invalid_request_error', 'model_not_found', 'model'),
        headers: {},
      };
    case 'RATE_LIMITED':
    case 'BUDGET_EXCEEDED': {
      const budget = error.code === 'BUDGET_EXCEEDED';
      const retryAfterMs = typeof error.details?.retryAfterMs === 'number' ? error.details.retryAfterMs : null;
      const headers: Record<string, string> =
        retryAfterMs === null
          ? {}
          : {
              'retry-after': String(Math.ceil(retryAfterMs / 1000)),
              'retry-after-ms': String(Math.ceil(retryAfterMs)),
            };
      return {
        status: 429,
        body: budget
          ? body(error.message, 'insufficient_quota', 'insufficient_quota')
          : body(error.message, 'requests', 'rate_limit_exceeded'),
        headers,
      };
    }
    case 'SHUTTING_DOWN':
      return {
        status: 503,
        body: body(error.message, 'server_error', 'shutting_down'),
        headers: { 'retry-after': '1' },
      };
    case 'PROVIDER_UNAVAILABLE':
    case 'UPSTREAM_ERROR':
    case 'CANCELLED':
      return upstreamFailure(error.code, error.message);
    default:
      return { status: 500, body: body(error.message, 'server_error', null), headers: {} };
  }
}

function upstreamFailure(code: string, message: string): OpenAIFailure {
  if (code === 'PROVIDER_UNAVAILABLE')
    return { status: 503, body: body(message, 'server_error', 'service_unavailable'), headers: {} };
  if (code === 'CANCELLED') return { status: 499, body: body(message, 'server_error', 'cancelled'), headers: {} };
  return { status: 502, body: body(message, 'server_error', 'upstream_error'), headers: {} };
}

export function sendOpenAIError(response: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  noteCode(response.req, restErrorCode(error));
  const failure = toOpenAIFailure(error);
  sendJson(response, failure.status, failure.body, { ...headers, ...failure.headers });
}

/** A 400 for a request OpenAI would refuse, naming the parameter. */
export const invalidRequest = (message: string, param: string | null = null) =>
  new AppError('BAD_USER_INPUT', message, param ? { field: param } : undefined);
