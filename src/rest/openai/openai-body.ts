import { AppError } from '../../errors.js';
import type { RestRequest } from '../rest-api.js';
import { invalidRequest } from './openai-errors.js';

/**
 * The request's JSON body, at most `maxBytes` (see RestRequest.readJson). Throws BAD_USER_INPUT
 * (400, or 408 / 413 as `httpStatus`), or RATE_LIMITED when the server holds too many bodies.
 */
export async function readOpenAIBody(request: RestRequest, maxBytes: number): Promise<unknown> {
  const body = await request.readJson(maxBytes);
  if (body.ok) return body.value;
  if (body.status === 429) {
    throw new AppError('RATE_LIMITED', body.message, { limit: 'bodyBytesInFlight', retryAfterMs: body.retryAfterMs });
  }
  if (body.status === 400) throw invalidRequest(body.message);
  throw new AppError('BAD_USER_INPUT', body.message, { httpStatus: body.status });
}
