import { type RestRequest, readJsonBody } from '../rest-api.js';
import { invalidRequest } from './openai-errors.js';

/** The request's JSON body, at most `maxBytes` (by its declared length first). Throws BAD_USER_INPUT. */
export async function readOpenAIBody(request: RestRequest, maxBytes: number): Promise<unknown> {
  const declared = Number(request.raw.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw invalidRequest(`The request body may be at most ${maxBytes} bytes`);
  const body = await readJsonBody(request.raw, maxBytes);
  if (!body.ok) throw invalidRequest(body.message);
  return body.value;
}
