import { z } from 'zod';
import type { App } from '../../app.js';
import { noteGeneration } from '../../http/access-record.js';
import { requestIdFrom } from '../../http/request-id.js';
import { sendJson } from '../json-response.js';
import type { RestRoute } from '../rest-api.js';
import { authenticateRest } from '../rest-auth.js';
import { readOpenAIBody } from './openai-body.js';
import { invalidRequest, sendOpenAIError } from './openai-errors.js';

const MAX_EMBEDDING_BODY_BYTES = 4 * 1024 * 1024;
const MAX_INPUTS = 2_048;
const MAX_INPUT_CHARS = 32_000;

const embeddingRequest = z.object({
  model: z.string().min(1).max(256),
  input: z.union([
    z.string().min(1).max(MAX_INPUT_CHARS),
    z.array(z.string().min(1).max(MAX_INPUT_CHARS)).min(1).max(MAX_INPUTS),
  ]),
  dimensions: z.number().int().min(1).max(8_192).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().max(256).optional(),
});

/**
 * `POST /v1/embeddings`: the router's embed, admitted under the caller's per-minute limits and
 * charged what the provider reported; the access log's line carries those tokens (as prompt tokens) and cost.
 */
export function embeddingsRoute(app: App): RestRoute {
  return {
    method: 'POST',
    pattern: '/v1/embeddings',
    async handle(request, response) {
      const base = { 'x-request-id': requestIdFrom(request.raw.headers['x-request-id'] as string | undefined) };
      try {
        const viewer = await authenticateRest(app.auth, request.raw, 'CHAT');
        const parsed = embeddingRequest.safeParse(await readOpenAIBody(request, MAX_EMBEDDING_BODY_BYTES));
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const param = issue?.path.join('.') || null;
          throw invalidRequest(`Invalid ${param ?? 'request'}: ${issue?.message ?? 'malformed'}`, param);
        }
        const { model, input, dimensions, encoding_format } = parsed.data;
        const result = await app.services.completions.embed({
          model,
          input: typeof input === 'string' ? [input] : input,
          dimensions,
          caller: { userId: viewer.userId, apiKeyId: viewer.apiKeyId, via: viewer.via },
          allowedModels: viewer.allowedModels,
          signal: request.signal,
          receivedAt: request.receivedAt,
          onEnd: (end) => noteGeneration(request.raw, end),
        });
        const data = result.embeddings.map((vector, index) => ({
          object: 'embedding',
          index,
          embedding: encoding_format === 'base64' ? toBase64(vector) : vector,
        }));
        sendJson(
          response,
          200,
          {
            object: 'list',
            data,
            model: result.model,
            usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
          },
          { ...base, ...result.headers },
        );
      } catch (error) {
        sendOpenAIError(response, error, base);
      }
    },
  };
}

/** OpenAI's base64 encoding: little-endian float32s. */
function toBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
