import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { App } from '../../app.js';
import type { Completion } from '../../completions/completion-service.js';
import { AppError } from '../../errors.js';
import { type GenerationFigures, noteGeneration } from '../../http/access-record.js';
import { requestIdFrom } from '../../http/request-id.js';
import { countedDeltas } from '../../metrics/index.js';
import type { RoutedStreamPart } from '../../providers/router/index.js';
import type { FinishReason, TokenUsage } from '../../providers/types.js';
import { sendJson } from '../json-response.js';
import type { RestRequest, RestRoute } from '../rest-api.js';
import { authenticateRest, type CallSignal, callSignal } from '../rest-auth.js';
import { createSseWriter } from '../sse-writer.js';
import { conversationTarget, storedCompletion } from '../stored-conversation.js';
import { MAX_CHAT_BODY_BYTES, type ParsedChatRequest, parseChatRequest } from './chat-request.js';
import { readOpenAIBody } from './openai-body.js';
import { type ChunkHead, chunk, openAIFinishReason, openAIUsage, textChunk, usageChunk } from './openai-chunks.js';
import { sendOpenAIError, toOpenAIFailure } from './openai-errors.js';

/** `POST /v1/chat/completions`: OpenAI's chat API, streamed or not, over the router. */
export function chatCompletionsRoute(app: App): RestRoute {
  return {
    method: 'POST',
    pattern: '/v1/chat/completions',
    async handle(request, response) {
      const requestId = requestIdFrom(request.raw.headers['x-request-id'] as string | undefined);
      const base = { 'x-request-id': requestId };
      let completion: Completion;
      let parsed: ParsedChatRequest;
      let call: CallSignal | undefined;
      try {
        const viewer = await authenticateRest(app.auth, request.raw, 'CHAT');
        parsed = parseChatRequest(await readOpenAIBody(request, MAX_CHAT_BODY_BYTES));
        call = callSignal(app.auth, viewer, request.signal);
        const { signal } = call;
        const conversation = conversationTarget(request.raw);
        // Stored or not, the generation's tokens, cost and error code go on the access log's line.
        const onEnd = (end: GenerationFigures) => noteGeneration(request.raw, end);
        completion = conversation
          ? await storedCompletion(app, viewer, conversation, parsed, { signal, onEnd })
          : await app.services.completions.complete({
              model: parsed.model,
              messages: parsed.messages,
              tools: parsed.tools,
              toolChoice: parsed.toolChoice,
              responseFormat: parsed.responseFormat,
              maxTokens: parsed.maxTokens,
              temperature: parsed.temperature,
              stop: parsed.stop,
              allowedModels: viewer.allowedModels,
              caller: { userId: viewer.userId, apiKeyId: viewer.apiKeyId, via: viewer.via },
              signal,
              receivedAt: request.receivedAt,
              onEnd,
            });
      } catch (error) {
        call?.stop();
        return sendOpenAIError(response, call?.revoked() ?? error, base);
      }
      const headers = { ...base, ...completion.headers };
      try {
        if (parsed.stream) {
          const counted = { ...completion, parts: countedDeltas(completion.parts, app.metrics.operations) };
          await streamCompletion(counted, parsed, request, response, headers, call.revoked);
        } else await answerCompletion(completion, response, headers, call.revoked);
      } finally {
        call.stop();
      }
    },
  };
}

// randomUUID draws from a pooled buffer; randomBytes cost a system call per id (~35 us here).
const completionId = () => `chatcmpl-${randomUUID().replaceAll('-', '')}`;
const unixNow = () => Math.floor(Date.now() / 1000);

/** What stopped a call, when its credential did (see callSignal). */
type Revoked = () => AppError | undefined;

async function answerCompletion(
  completion: Completion,
  response: ServerResponse,
  headers: Record<string, string>,
  revoked: Revoked,
) {
  let model = '';
  let text = '';
  const calls = new Map<string, { id: string; type: 'function'; function: { name: string; arguments: string } }>();
  let finish: { usage: TokenUsage; reason: FinishReason } | undefined;
  for await (const part of completion.parts) {
    if (part.type === 'start') model = part.model;
    else if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'tool-call-start')
      calls.set(part.id, { id: part.id, type: 'function', function: { name: part.name, arguments: '' } });
    else if (part.type === 'tool-call-delta') {
      const call = calls.get(part.id);
      if (call) call.function.arguments += part.argumentsDelta;
    } else if (part.type === 'finish') finish = { usage: part.usage, reason: part.finishReason.unified };
    else if (part.type === 'error') return sendOpenAIError(response, revoked() ?? part.error, headers);
  }
  if (!finish) return sendOpenAIError(response, new AppError('UPSTREAM_ERROR', 'The reply ended early'), headers);
  const toolCalls = [...calls.values()];
  sendJson(
    response,
    200,
    {
      id: completionId(),
      object: 'chat.completion',
      created: unixNow(),
      model,
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text === '' && toolCalls.length > 0 ? null : text,
            refusal: null,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: openAIFinishReason(finish.reason),
        },
      ],
      usage: openAIUsage(finish.usage),
    },
    headers,
  );
}

/**
 * OpenAI's SSE: a first chunk with the role, content and tool-call deltas, the finish chunk, the
 * usage chunk when asked for, then `[DONE]`. Before the first part a failure is a plain error
 * response; after it, an `error` frame ends the stream. A client that goes away stops the loop,
 * which aborts the upstream call (charged as CANCELLED).
 */
async function streamCompletion(
  completion: Completion,
  request: ParsedChatRequest,
  rest: RestRequest,
  response: ServerResponse,
  headers: Record<string, string>,
  revoked: Revoked,
) {
  const sse = createSseWriter(response, headers);
  const head: ChunkHead = { id: completionId(), created: unixNow(), model: '', includeUsage: request.includeUsage };
  const toolIndex = new Map<string, number>();
  let opened = false;
  const open = async (part: RoutedStreamPart) => {
    if (opened) return;
    opened = true;
    if (part.type === 'start') head.model = part.model;
    await sse.send(chunk(head, { role: 'assistant', content: '', refusal: null }));
  };
  for await (const part of completion.parts) {
    if (rest.signal.aborted) break;
    if (part.type === 'error') {
      const error = revoked() ?? part.error;
      if (!opened) return sendOpenAIError(response, error, headers);
      await sse.send(JSON.stringify(toOpenAIFailure(error).body));
      return sse.end();
    }
    await open(part);
    if (part.type === 'text-delta') await sse.send(textChunk(head, part.text));
    else if (part.type === 'tool-call-start') {
      const index = toolIndex.size;
      toolIndex.set(part.id, index);
      const call = { index, id: part.id, type: 'function', function: { name: part.name, arguments: '' } };
      await sse.send(chunk(head, { tool_calls: [call] }));
    } else if (part.type === 'tool-call-delta') {
      const call = { index: toolIndex.get(part.id) ?? 0, function: { arguments: part.argumentsDelta } };
      await sse.send(chunk(head, { tool_calls: [call] }));
    } else if (part.type === 'finish') {
      await sse.send(chunk(head, {}, openAIFinishReason(part.finishReason.unified)));
      if (request.includeUsage) await sse.send(usageChunk(head, part.usage));
      await sse.send('[DONE]');
      // The client has it all: the call's recording and settlement go on without holding it.
      sse.end();
    }
  }
  if (!rest.signal.aborted) sse.end();
}
