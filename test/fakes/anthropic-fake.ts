import { randomUUID } from 'node:crypto';
import { numberField, splitInThree, sseFrame } from './fake-framing.js';
import {
  asRecords,
  contentText,
  type FakeChatInput,
  type FakeChatMessage,
  planReply,
  stringList,
} from './fake-script.js';
import { startFakeServer } from './fake-server.js';
import type { FakeModel, FakeOptions, FakeProtocol, FakeServer, RouteContext } from './fake-types.js';

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const requestId = () => `req_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

const protocol: Omit<FakeProtocol, 'routes'> = {
  baseURLPath: '',
  errorBody: (status, message) => ({
    type: 'error',
    error: { type: errorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message },
    request_id: requestId(),
  }),
  malformedFrame: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":\n\n',
  authorized: (headers, apiKey) => headers['x-api-key'] === apiKey || headers.authorization === `Bearer ${apiKey}`,
  responseHeaders: () => ({ 'request-id': requestId() }),
};

/** `base64:<media type>` or `url:<url>`: what a test needs to tell the two sources apart. */
function imageRef(block: Record<string, unknown>): string {
  const source = (block.source ?? {}) as Record<string, unknown>;
  return source.type === 'url' ? `url:${String(source.url)}` : `base64:${String(source.media_type)}`;
}

/**
 * One turn; its tool_result blocks become `tool` messages after it (a user turn holds them),
 * tool_use blocks the assistant's calls, image blocks its images.
 */
function readTurn(record: Record<string, unknown>): FakeChatMessage[] {
  const message: FakeChatMessage = { role: String(record.role ?? ''), content: contentText(record.content) };
  const blocks = asRecords(record.content);
  const images = blocks.filter((b) => b.type === 'image').map(imageRef);
  if (images.length > 0) message.images = images;
  const calls = blocks
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({ id: String(b.id), name: String(b.name), arguments: JSON.stringify(b.input ?? {}) }));
  if (calls.length > 0) message.toolCalls = calls;
  const results = blocks
    .filter((b) => b.type === 'tool_result')
    .map((b) => ({ role: 'tool', content: contentText(b.content), toolCallId: String(b.tool_use_id) }));
  return results.length > 0 && message.content === '' ? results : [message, ...results];
}

function chatInput(body: Record<string, unknown>): FakeChatInput {
  const system = contentText(body.system);
  const tools = asRecords(body.tools).map((tool) => String(tool.name));
  return {
    model: String(body.model ?? ''),
    messages: [...(system ? [{ role: 'system', content: system }] : []), ...asRecords(body.messages).flatMap(readTurn)],
    maxTokens: numberField(body, 'max_tokens'),
    ...(tools.length > 0 && { tools }),
    stop: stringList(body.stop_sequences),
  };
}

const toolUseId = () => `toolu_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

async function messages(ctx: RouteContext): Promise<void> {
  const input = chatInput(ctx.body);
  if (input.maxTokens === undefined) return ctx.error(400, 'max_tokens: Field required');
  if (!ctx.knowsModel(input.model)) return ctx.error(404, `model: ${input.model}`);
  const plan = planReply(input, ctx.reply, ctx.promptCache);
  const calls = plan.toolCalls.map((call) => ({ ...call, id: call.id ?? toolUseId() }));
  const stopReason = plan.truncated
    ? 'max_tokens'
    : calls.length > 0
      ? 'tool_use'
      : plan.stopSequence !== undefined
        ? 'stop_sequence'
        : 'end_turn';
  const stopSequence = stopReason === 'stop_sequence' ? (plan.stopSequence ?? null) : null;
  const message = {
    id: `msg_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'message',
    role: 'assistant',
    model: input.model,
    stop_sequence: null,
  };
  // no empty text block before tool calls, as the API sends none
  const withText = plan.tokens.length > 0 || calls.length === 0;
  // input_tokens leaves out cache reads and writes: the whole prompt is the three together
  const promptUsage = {
    input_tokens: plan.promptTokens - plan.cachedPromptTokens - plan.cacheWritePromptTokens,
    cache_creation_input_tokens: plan.cacheWritePromptTokens,
    cache_read_input_tokens: plan.cachedPromptTokens,
  };
  const usage = (outputTokens: number) => ({
    ...promptUsage,
    cache_creation: { ephemeral_5m_input_tokens: plan.cacheWritePromptTokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  });

  if (ctx.body.stream !== true) {
    const content = [
      ...(withText ? [{ type: 'text', text: plan.text }] : []),
      ...calls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.arguments) })),
    ];
    return ctx.json({
      ...message,
      content,
      stop_reason: stopReason,
      stop_sequence: stopSequence,
      usage: usage(plan.completionTokens),
    });
  }

  const event = (data: { type: string } & Record<string, unknown>) => sseFrame(data, data.type);
  const textBlock = withText
    ? [
        event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        event({ type: 'ping' }),
        ...plan.tokens.map((text) =>
          event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
        ),
        event({ type: 'content_block_stop', index: 0 }),
      ]
    : [];
  const first = withText ? 1 : 0;
  const toolBlocks = calls.flatMap((call, i) => [
    event({
      type: 'content_block_start',
      index: first + i,
      content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
    }),
    ...['', ...splitInThree(call.arguments)].map((partial_json) =>
      event({ type: 'content_block_delta', index: first + i, delta: { type: 'input_json_delta', partial_json } }),
    ),
    event({ type: 'content_block_stop', index: first + i }),
  ]);
  return ctx.stream('text/event-stream; charset=utf-8', [
    event({ type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: usage(1) } }),
    ...textBlock,
    ...toolBlocks,
    event({
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: stopSequence },
      // cumulative totals, the prompt's included
      usage: { ...promptUsage, output_tokens: plan.completionTokens },
    }),
    event({ type: 'message_stop' }),
  ]);
}

function modelInfo(m: FakeModel) {
  return {
    type: 'model',
    id: m.id,
    display_name: m.displayName ?? m.id,
    created_at: new Date((m.created ?? 1_700_000_000) * 1000).toISOString(),
    max_input_tokens: m.contextWindow ?? null,
    max_tokens: null,
    capabilities: null,
    deprecated_at: null,
    lifecycle: 'active',
    line: null,
    retires_at: null,
  };
}

/** The cursor-paginated list: `limit`, `after_id`, `before_id`; `has_more` looks in the paging direction. */
function listModels(ctx: RouteContext): Promise<void> {
  const { limit: rawLimit, after_id: afterId, before_id: beforeId } = ctx.record.query;
  const limit = Math.min(Math.max(Number(rawLimit ?? 20) || 20, 1), 1000);
  const ids = ctx.models.map((m) => m.id);
  let start = 0;
  let end = ids.length;
  if (afterId !== undefined) start = ids.indexOf(afterId) + 1;
  if (beforeId !== undefined) end = Math.max(ids.indexOf(beforeId), 0);
  const page =
    beforeId !== undefined
      ? ctx.models.slice(Math.max(end - limit, start), end)
      : ctx.models.slice(start, start + limit);
  const hasMore = beforeId !== undefined ? end - limit > start : start + limit < end;
  return ctx.json({
    data: page.map(modelInfo),
    has_more: hasMore,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
  });
}

/**
 * A fake Anthropic API: messages (SSE event stream and JSON) and the paginated models list.
 * Give `fake.baseURL` to `new Anthropic({ baseURL })`.
 */
export function startAnthropicFake(options: FakeOptions = {}): Promise<FakeServer> {
  return startFakeServer(
    {
      ...protocol,
      routes: [
        { method: 'POST', path: '/v1/messages', handle: messages },
        { method: 'GET', path: '/v1/models', handle: listModels },
        {
          method: 'GET',
          path: /^\/v1\/models\/(.+)$/,
          handle: (ctx) => {
            const found = ctx.models.find((m) => m.id === ctx.params[0]);
            if (!found) return ctx.error(404, `model: ${ctx.params[0]}`);
            return ctx.json(modelInfo(found));
          },
        },
      ],
    },
    {
      ...options,
      models: options.models ?? [{ id: 'claude-sonnet-4-6', contextWindow: 200_000 }, { id: 'claude-haiku-4-5' }],
    },
  );
}
