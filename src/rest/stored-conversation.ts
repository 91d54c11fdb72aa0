import type { IncomingMessage } from 'node:http';
import type { App } from '../app.js';
import { clientCalls } from '../chat/chat-history.js';
import { assertNoNul, type SendMessageInput } from '../chat/validate-input.js';
import type { Completion } from '../completions/completion-service.js';
import { assertRoutableModel } from '../completions/routable-model.js';
import { AppError, badInput } from '../errors.js';
import type { Message } from '../generated/prisma/client.js';
import { type GenerationFigures, messageFigures } from '../http/access-record.js';
import type { Viewer } from '../policy/viewer.js';
import { ProviderError, type ProviderErrorCode } from '../providers/provider-error.js';
import type { RoutedStreamPart, RouteStartPart } from '../providers/router/index.js';
import type { ChatMessage, FinishReason, ResponseFormat, ToolChoice, ToolDefinition } from '../providers/types.js';
import { type ClientId, clientId, encodeGlobalId, eventsWithClientId, withClientId } from '../schema/global-id.js';
import type { MessageEnd, MessageStreamEvent } from '../stream-store/types.js';

/**
 * `x-switchyard-conversation` on `POST /v1/chat/completions` and `POST /v1/messages`: a REST call
 * stored as a conversation turn, through the same path as GraphQL's `chat` (rows, STREAMING ->
 * COMPLETE/FAILED/CANCELLED, the stream buffer `messageStream` follows, usage, limits, budgets).
 *
 * - `new`: a new conversation of the viewer. The request's system messages are its system prompt,
 *   its user and assistant turns are stored in order, and the last one (a user message) is the turn.
 * - a Conversation ID as GraphQL gives it (and `x-switchyard-conversation-id` answers): a turn
 *   appended to it. The stored conversation is the history the model sees; of the request only
 *   the messages after its last assistant message are new and stored (the last user message, or
 *   tool results, which answer the conversation's message waiting for them, under that turn's own
 *   tools and format as `submitToolResults` continues it). Clients may send the
 *   whole history each time, as OpenAI's and Anthropic's APIs expect, or only the new message.
 *   A system message sets the conversation's system prompt, as `sendMessage` does.
 *
 * The reply comes back in the endpoint's own wire format; `x-switchyard-conversation-id` and
 * `x-switchyard-message-id` name the conversation and the assistant message (GraphQL global ids).
 */
export const CONVERSATION_HEADER = 'x-switchyard-conversation';
const MAX_HEADER_CHARS = 128;

export type ConversationTarget = { kind: 'new' } | { kind: 'existing'; ref: ClientId };

/** The header's target; undefined without the header (the call is not stored). Throws BAD_USER_INPUT. */
export function conversationTarget(raw: IncomingMessage): ConversationTarget | undefined {
  const value = raw.headers[CONVERSATION_HEADER];
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value.join(',') : value).trim();
  const wanted = `${CONVERSATION_HEADER} must be \`new\` or a conversation's ID (x-switchyard-conversation-id)`;
  if (text === '' || text.length > MAX_HEADER_CHARS) {
    throw badInput(`${wanted}, at most ${MAX_HEADER_CHARS} characters`, { field: CONVERSATION_HEADER });
  }
  if (text.toLowerCase() === 'new') return { kind: 'new' };
  try {
    return { kind: 'existing', ref: clientId(text, 'Conversation') };
  } catch {
    throw badInput(`${wanted}, not ${JSON.stringify(text.slice(0, 40))}`, { field: CONVERSATION_HEADER });
  }
}

/** A REST request in the contract's terms, as both endpoints parse it. */
export interface StoredCallRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[] | undefined;
  toolChoice?: ToolChoice | undefined;
  responseFormat?: ResponseFormat | undefined;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  stop?: string[] | undefined;
}

/** The request's new messages: a user turn (with earlier ones for a new conversation), or tool results. */
type StoredPlan =
  | { kind: 'turn'; input: SendMessageInput; prior: { role: 'user' | 'assistant'; content: string }[] }
  | { kind: 'tool-results'; results: { toolCallId: string; content: string }[] };

/** Which of the request's messages are stored, by the rule above. Throws BAD_USER_INPUT for what cannot be. */
export function planStoredCall(target: ConversationTarget, request: StoredCallRequest): StoredPlan {
  if (request.stop && request.stop.length > 0) {
    throw badInput(`stop sequences are not supported on calls stored with ${CONVERSATION_HEADER}`, { field: 'stop' });
  }
  if (request.messages.some((m) => (m.images?.length ?? 0) > 0)) {
    throw badInput(
      `images cannot be stored in a conversation: send them without ${CONVERSATION_HEADER}, or describe them in text`,
      { field: 'messages' },
    );
  }
  const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
  const turns = request.messages.filter((m) => m.role !== 'system');
  const lastAssistant = turns.findLastIndex((m) => m.role === 'assistant');
  const fresh = target.kind === 'new' ? turns : turns.slice(lastAssistant + 1);
  if (fresh.length === 0 || fresh.at(-1)?.role === 'assistant') {
    throw badInput('the messages end with an assistant message: there is no new message to send', {
      field: 'messages',
    });
  }
  // What is stored (Postgres text cannot hold NUL) is refused here, before anything is written.
  assertNoNul('messages', system, 'the system prompt');
  assertNoNul(
    'messages',
    fresh.map((m) => [m.content, m.toolCallId ?? '']),
    'a message',
  );
  assertNoNul('tools', request.tools ?? null);
  assertNoNul('response_format', request.responseFormat ?? null);
  if (fresh.some((m) => m.role === 'tool')) {
    if (target.kind === 'new') {
      throw badInput(`a new conversation (${CONVERSATION_HEADER}: new) cannot start with tool results`, {
        field: 'messages',
      });
    }
    if (!fresh.every((m) => m.role === 'tool')) {
      throw badInput('tool results must be sent on their own, after the assistant message that asked for them', {
        field: 'messages',
      });
    }
    return {
      kind: 'tool-results',
      results: fresh.map((m) => ({ toolCallId: m.toolCallId ?? '', content: m.content })),
    };
  }
  if (fresh.some((m) => (m.toolCalls?.length ?? 0) > 0)) {
    throw badInput(
      `earlier tool calls cannot be stored in a new conversation: start it with ${CONVERSATION_HEADER}: new before the tools are called`,
      { field: 'messages' },
    );
  }
  const last = fresh.at(-1) as ChatMessage;
  const input: SendMessageInput = {
    content: last.content,
    model: request.model,
    systemPrompt: system.length > 0 ? system.join('\n\n') : null,
    temperature: request.temperature ?? null,
    maxTokens: request.maxTokens ?? null,
    tools: request.tools ?? null,
    toolChoice: toolChoiceOf(request.toolChoice),
    responseFormat: responseFormatOf(request.responseFormat),
  };
  const prior = fresh.slice(0, -1).map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
  return { kind: 'turn', input, prior };
}

const toolChoiceOf = (choice: ToolChoice | undefined) =>
  choice === undefined ? null : typeof choice === 'string' ? choice : choice.name;

function responseFormatOf(format: ResponseFormat | undefined): SendMessageInput['responseFormat'] {
  if (!format) return null;
  if (format.type === 'text') return { type: 'TEXT' };
  if (format.type === 'json-object') return { type: 'JSON_OBJECT' };
  return { type: 'JSON_SCHEMA', name: format.name, schema: format.schema };
}

export interface StoredCallContext {
  /** Aborts when the client goes away: the generation is then cancelled (CANCELLED, partial text kept). */
  signal: AbortSignal;
  /**
   * Told how the turn ended, as the completion service's `onEnd` is (the access log's tokens and
   * cost): the stored message's usage and cost, and its error code; before its last part.
   */
  onEnd?: ((end: GenerationFigures) => void) | undefined;
}

/**
 * A named model that cannot be routed, or only by standing the default in, is NOT_FOUND (each
 * API's 404), as on the unstored path (the completion service): GraphQL's chat, which a stored
 * turn goes through, would answer it with the default model.
 */
function assertKnownModel(app: App, model: string): void {
  if (model !== '') assertRoutableModel(app.providers.router, model);
}

/**
 * Stores the call as a turn of the target conversation and starts its generation through the chat
 * service, then answers with the turn's events as router parts, so the endpoint writes them in its
 * own wire format as it writes any call. Throws AppError (in the endpoint's shape) before anything
 * is stored: BAD_USER_INPUT, NOT_FOUND (a conversation that is not the viewer's), FORBIDDEN,
 * RATE_LIMITED, BUDGET_EXCEEDED, SHUTTING_DOWN.
 */
export async function storedCompletion(
  app: App,
  viewer: Viewer,
  target: ConversationTarget,
  request: StoredCallRequest,
  context: StoredCallContext,
): Promise<Completion> {
  assertKnownModel(app, request.model);
  const chat = app.services.chat;
  const plan = planStoredCall(target, request);
  const admitted: Record<string, string> = {};
  const options = {
    allowedModels: viewer.allowedModels,
    caller: { userId: viewer.userId, apiKeyId: viewer.apiKeyId, via: viewer.via },
    onAdmitted: (headers: Record<string, string>) => Object.assign(admitted, headers),
  };
  const ref = target.kind === 'existing' ? target.ref : undefined;
  const started = await withClientId(
    ref,
    plan.kind === 'tool-results'
      ? chat.answerToolCalls(viewer.userId, ref?.id as string, plan.results, { ...options, allowedBuiltins: [] })
      : chat.turn(viewer.userId, { ...plan.input, conversationId: ref?.id ?? null }, options, plan.prior),
  );
  const { conversation, assistantMessage } = started.rows;
  const messageId = assistantMessage.id;
  // This process runs the generation: cancelled here at once, even while its rows are still being
  // written (a cancel by id would not find them yet, and the generation would run on to its end).
  const cancel = started.cancel;
  return {
    headers: {
      ...admitted,
      'x-switchyard-conversation-id': encodeGlobalId('Conversation', conversation.id),
      'x-switchyard-message-id': encodeGlobalId('Message', messageId),
    },
    promptTokens: assistantMessage.contextTokens ?? 0,
    parts: partsOf(app, eventsWithClientId(ref, started.events), {
      model: assistantMessage.model ?? request.model,
      signal: context.signal,
      cancel,
      onEnd: context.onEnd,
    }),
    discard: async () => {
      cancel();
      await started.events.return?.();
    },
  };
}

/**
 * A stored turn's events as the router's parts: `start`, a text delta per delta, then from the
 * finished row its tool calls and `finish`, or an `error` part. Reading stops early (or the client
 * goes away): the generation is cancelled.
 */
async function* partsOf(
  app: App,
  events: AsyncIterableIterator<MessageStreamEvent>,
  turn: { model: string; signal: AbortSignal; cancel: () => void; onEnd: StoredCallContext['onEnd'] },
): AsyncGenerator<RoutedStreamPart> {
  let ended = false;
  const onAbort = () => turn.cancel();
  turn.signal.addEventListener('abort', onAbort, { once: true });
  if (turn.signal.aborted) turn.cancel();
  let start: RouteStartPart | undefined;
  const startPart = (row?: Message | null): RouteStartPart => {
    start ??= startOf(app, row?.model ?? turn.model, row?.provider ?? undefined);
    return start;
  };
  try {
    for await (const event of events) {
      if (event.kind === 'delta') {
        if (!start) yield startPart();
        yield { type: 'text-delta', text: event.text };
        continue;
      }
      ended = true;
      const row = event.message ?? (await app.database.prisma.message.findUnique({ where: { id: event.messageId } }));
      turn.onEnd?.(messageFigures(event, row));
      if (!start) yield startPart(row);
      yield* endParts(event, row, startPart().provider);
      return;
    }
  } catch (error) {
    // The stream's own failures (a lagging or lost buffer); anything unexpected goes on up, masked.
    if (!AppError.isInstance(error)) throw error;
    const code: ProviderErrorCode = error.code === 'PROVIDER_UNAVAILABLE' ? error.code : 'UPSTREAM_ERROR';
    turn.onEnd?.({ usage: null, costNanos: null, errorCode: code });
    const provider = startPart().provider;
    yield { type: 'error', error: new ProviderError({ provider, code, message: error.message, retryable: false }) };
  } finally {
    turn.signal.removeEventListener('abort', onAbort);
    if (!ended && !turn.signal.aborted) turn.cancel();
    await events.return?.();
  }
}

/** The `start` part: the deployment the model resolves to first (the row names the one that answered, at the end). */
function startOf(app: App, model: string, provider: string | undefined): RouteStartPart {
  let deployment: { provider: { name: string; kind: string }; model: string } | undefined;
  try {
    deployment = app.providers.router.resolve({ model }).chain[0];
  } catch {
    deployment = undefined;
  }
  return {
    type: 'start',
    provider: provider ?? deployment?.provider.name ?? 'switchyard',
    kind: deployment?.provider.kind ?? 'switchyard',
    model: deployment?.model ?? model,
    deploymentId: deployment ? `${deployment.provider.name}/${deployment.model}` : model,
    attempt: 1,
    ttftMs: 0,
  };
}

function* endParts(event: MessageEnd, row: Message | null, provider: string): Generator<RoutedStreamPart> {
  const usage = { promptTokens: row?.promptTokens ?? 0, completionTokens: row?.completionTokens ?? 0 };
  const raw = row?.finishReason ?? undefined;
  if (event.kind === 'failed') {
    const code: ProviderErrorCode =
      event.code === 'CANCELLED' || event.code === 'PROVIDER_UNAVAILABLE' ? event.code : 'UPSTREAM_ERROR';
    const message = code === event.code ? event.error : `${event.code}: ${event.error}`;
    yield { type: 'error', error: new ProviderError({ provider, code, message, retryable: false }), usage };
    return;
  }
  if (event.kind === 'tool-calls') {
    // The client's calls only: builtin calls of the same step were run by the gateway.
    const calls = clientCalls(row?.toolCalls);
    for (const call of calls) {
      yield { type: 'tool-call-start', id: call.id, name: call.name };
      yield { type: 'tool-call-delta', id: call.id, argumentsDelta: call.arguments };
      yield { type: 'tool-call-end', id: call.id };
    }
    yield { type: 'finish', usage, finishReason: { unified: 'tool-calls', raw } };
    return;
  }
  yield { type: 'finish', usage, finishReason: { unified: unifiedFinish(raw), raw } };
}

/** The stored finish reason (the provider's own word, else the unified one) as the unified one. */
function unifiedFinish(raw: string | undefined): FinishReason {
  switch (raw) {
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'content_filter':
    case 'content-filter':
    case 'refusal':
      return 'content-filter';
    case 'tool_calls':
    case 'tool-calls':
    case 'tool_use':
      return 'tool-calls';
    default:
      return 'stop';
  }
}
