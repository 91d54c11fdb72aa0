import { randomUUID } from 'node:crypto';
import { numberField, sseFrame } from './fake-framing.js';
import { contentText, type FakeChatInput, planReply, readMessages } from './fake-script.js';
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

function chatInput(body: Record<string, unknown>): FakeChatInput {
  const system = contentText(body.system);
  return {
    model: String(body.model ?? ''),
    messages: [...(system ? [{ role: 'system', content: system }] : []), ...readMessages(body.messages)],
    maxTokens: numberField(body, 'max_tokens'),
  };
}

async function messages(ctx: RouteContext): Promise<void> {
  const input = chatInput(ctx.body);
  if (input.maxTokens === undefined) return ctx.error(400, 'max_tokens: Field required');
  if (!ctx.knowsModel(input.model)) return ctx.error(404, `model: ${input.model}`);
  const plan = planReply(input, ctx.reply, ctx.promptCache);
  const stopReason = plan.truncated ? 'max_tokens' : 'end_turn';
  const message = {
    id: `msg_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'message',
    role: 'assistant',
    model: input.model,
    stop_sequence: null,
  };
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
    const content = [{ type: 'text', text: plan.text }];
    return ctx.json({ ...message, content, stop_reason: stopReason, usage: usage(plan.completionTokens) });
  }

  const event = (data: { type: string } & Record<string, unknown>) => sseFrame(data, data.type);
  return ctx.stream('text/event-stream; charset=utf-8', [
    event({ type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: usage(1) } }),
    event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    event({ type: 'ping' }),
    ...plan.tokens.map((text) => event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    event({ type: 'content_block_stop', index: 0 }),
    event({
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
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
