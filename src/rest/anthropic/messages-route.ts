import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../../app.js';
import { promptTokens } from '../../completions/prompt-tokens.js';
import { assertRoutableModel } from '../../completions/routable-model.js';
import { type GenerationFigures, noteCode, noteGeneration } from '../../http/access-record.js';
import { requestIdFrom } from '../../http/request-id.js';
import { countedDeltas } from '../../metrics/index.js';
import type { Viewer } from '../../policy/viewer.js';
import { collectStream } from '../../providers/collect-stream.js';
import type { RoutedStreamPart, RouteStartPart } from '../../providers/router/index.js';
import type { StreamPart } from '../../providers/types.js';
import type { RestRequest, RestRoute } from '../rest-api.js';
import { authenticateRest, callSignal } from '../rest-auth.js';
import { restErrorCode } from '../rest-error-code.js';
import { conversationTarget, storedCompletion } from '../stored-conversation.js';
import { anthropicErrorOf, writeAnthropicError } from './anthropic-errors.js';
import { messageBody, messageId } from './anthropic-message.js';
import { type AnthropicLimits, anthropicSchemas, parseBody } from './anthropic-request.js';
import { writeMessageStream } from './anthropic-stream.js';
import { convertAnthropicRequest } from './convert-anthropic-request.js';

/** `POST /v1/messages` and `POST /v1/messages/count_tokens`, over the completion service. */
export function messagesRoutes(app: App, limits: AnthropicLimits): RestRoute[] {
  const schemas = anthropicSchemas(limits);

  /** Authenticates, reads and checks the body; answers the error itself and returns null when any step fails. */
  async function accept<T>(
    request: RestRequest,
    response: ServerResponse,
    schema: Parameters<typeof parseBody<T>>[0],
  ): Promise<{ context: Caller; body: T } | null> {
    let context: Caller;
    try {
      context = await anthropicCaller(app, request.raw);
    } catch (error) {
      answerFailure(response, error, undefined);
      return null;
    }
    const read = await request.readJson(limits.maxBodyBytes);
    if (!read.ok) {
      const headers: Record<string, string> =
        read.retryAfterMs === undefined
          ? {}
          : { 'retry-after': String(Math.ceil(read.retryAfterMs / 1000)), 'retry-after-ms': String(read.retryAfterMs) };
      noteCode(request.raw, 'BAD_USER_INPUT');
      writeAnthropicError(response, { status: read.status, message: read.message, headers }, context.requestId);
      return null;
    }
    const parsed = parseBody(schema, read.value);
    if (!parsed.ok) {
      noteCode(request.raw, 'BAD_USER_INPUT');
      writeAnthropicError(response, { status: 400, message: parsed.message }, context.requestId);
      return null;
    }
    return { context, body: parsed.value };
  }

  /** Expected failures in Anthropic's shape; anything else goes to the dispatcher, which masks it. */
  function answerFailure(response: ServerResponse, error: unknown, context: Caller | undefined) {
    const shaped = anthropicErrorOf(error);
    if (!shaped) throw error;
    noteCode(response.req, restErrorCode(error));
    writeAnthropicError(response, shaped, context?.requestId);
  }

  const create: RestRoute = {
    method: 'POST',
    pattern: '/v1/messages',
    async handle(request, response) {
      const accepted = await accept(request, response, schemas.create);
      if (!accepted) return;
      const { context, body } = accepted;
      const { viewer, requestId } = context;
      const { services } = app;
      let parts: AsyncIterator<RoutedStreamPart> | undefined;
      const call = callSignal(app.auth, viewer, request.signal);
      const { signal } = call;
      try {
        const converted = convertAnthropicRequest(body);
        const generation = {
          model: body.model,
          ...converted,
          maxTokens: body.max_tokens,
          ...(body.temperature === undefined ? {} : { temperature: body.temperature }),
          ...(body.stop_sequences?.length ? { stop: body.stop_sequences } : {}),
        };
        const conversation = conversationTarget(request.raw);
        // Stored or not, the generation's tokens, cost and error code go on the access log's line.
        const onEnd = (end: GenerationFigures) => noteGeneration(request.raw, end);
        const completion = conversation
          ? await storedCompletion(app, viewer, conversation, generation, { signal, onEnd })
          : await services.completions.complete({
              ...generation,
              caller: { userId: viewer.userId, apiKeyId: viewer.apiKeyId, via: viewer.via },
              allowedModels: viewer.allowedModels,
              signal,
              receivedAt: request.receivedAt,
              onEnd,
            });
        parts = (body.stream ? countedDeltas(completion.parts, app.metrics.operations) : completion.parts)[
          Symbol.asyncIterator
        ]();
        // Retries and fallbacks happen before the first part: until then a failure is an HTTP status.
        const first = await parts.next();
        if (first.done) throw new Error('the completion ended without a part');
        if (first.value.type === 'error') throw call.revoked() ?? first.value.error;
        const start = first.value as RouteStartPart;
        const headers = { 'request-id': requestId, ...completion.headers };
        if (body.stream) {
          await writeMessageStream(response, parts, {
            id: messageId(),
            model: start.model,
            promptTokens: completion.promptTokens,
            stopSequences: body.stop_sequences,
            headers,
            revoked: call.revoked,
          });
          return;
        }
        const collected = await collectStream(rest(parts));
        const message = messageBody(collected, {
          model: start.model,
          provider: start.provider,
          stopSequences: body.stop_sequences,
        });
        response.writeHead(200, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(message));
      } catch (error) {
        if (response.headersSent) throw error;
        if (request.signal.aborted) return void response.destroy();
        answerFailure(response, call.revoked() ?? error, context);
      } finally {
        call.stop();
        // Settles the call (and aborts the upstream one) whatever ended it.
        await parts?.return?.();
      }
    },
  };

  const countTokens: RestRoute = {
    method: 'POST',
    pattern: '/v1/messages/count_tokens',
    async handle(request, response) {
      const accepted = await accept(request, response, schemas.counted);
      if (!accepted) return;
      try {
        const converted = convertAnthropicRequest(accepted.body);
        // The model must be one this caller could send to, as for /v1/messages (404, 403).
        const { model } = accepted.body;
        assertRoutableModel(app.providers.router, model);
        app.providers.router.plan({ model, allowedModels: accepted.context.viewer.allowedModels });
        // Exact, however long: counted in turns of the event loop, so other requests go on meanwhile.
        const count = await promptTokens(converted);
        response.writeHead(200, { 'content-type': 'application/json', 'request-id': accepted.context.requestId });
        response.end(JSON.stringify({ input_tokens: count.tokens }));
      } catch (error) {
        answerFailure(response, error, accepted.context);
      }
    },
  };

  return [create, countTokens];
}

/** Who calls, and the request's id (echoed in `request-id` and in errors). */
interface Caller {
  viewer: Viewer;
  requestId: string;
}

/**
 * The caller of an Anthropic-style request: `x-api-key: <key>` (what Anthropic's SDK sends) or
 * `Authorization: Bearer <key>`, checked like any other credential; chat needs the CHAT scope.
 */
async function anthropicCaller(app: App, raw: IncomingMessage): Promise<Caller> {
  const key = raw.headers['x-api-key'];
  const apiKey = Array.isArray(key) ? key[0] : key;
  const viewer = await authenticateRest(app.auth, raw, 'CHAT', apiKey ? `Bearer ${apiKey}` : undefined);
  const requestId = raw.headers['x-request-id'];
  return { viewer, requestId: requestIdFrom(Array.isArray(requestId) ? requestId[0] : requestId) };
}

/** The parts after `start`, for collecting. */
async function* rest(parts: AsyncIterator<RoutedStreamPart>): AsyncGenerator<StreamPart> {
  for (;;) {
    const next = await parts.next();
    if (next.done) return;
    if (next.value.type !== 'start') yield next.value;
  }
}
