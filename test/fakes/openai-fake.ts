import { randomUUID } from 'node:crypto';
import { fakeEmbedding, float32Base64 } from './fake-embeddings.js';
import { numberField, splitInThree, sseFrame } from './fake-framing.js';
import {
  asRecords,
  contentText,
  countTokens,
  type FakeChatInput,
  type FakeChatMessage,
  planReply,
  type ReplyPlan,
  stringList,
} from './fake-script.js';
import { startFakeServer } from './fake-server.js';
import type { FakeOptions, FakeProtocol, FakeServer, RouteContext } from './fake-types.js';

const created = 1_700_000_000;

/** Error `type` and `code` OpenAI uses for each status. */
function errorKind(status: number): { type: string; code: string | null } {
  if (status === 400) return { type: 'invalid_request_error', code: null };
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'invalid_request_error', code: 'unsupported_country_region_territory' };
  if (status === 404) return { type: 'invalid_request_error', code: 'model_not_found' };
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  return { type: 'server_error', code: null };
}

const protocol: Omit<FakeProtocol, 'routes'> = {
  baseURLPath: '/v1',
  errorBody: (status, message, code) => {
    const kind = errorKind(status);
    return { error: { message, type: kind.type, param: null, code: code ?? kind.code } };
  },
  malformedFrame: 'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":\n\n',
  authorized: (headers, apiKey) => headers.authorization === `Bearer ${apiKey}`,
  responseHeaders: () => ({ 'x-request-id': `req_${randomUUID().replaceAll('-', '')}` }),
};

/** One message: text parts, image_url parts, assistant tool_calls, a tool message's tool_call_id. */
function readMessage(record: Record<string, unknown>): FakeChatMessage {
  const message: FakeChatMessage = { role: String(record.role ?? ''), content: contentText(record.content) };
  const images = asRecords(record.content).flatMap((part) =>
    part.type === 'image_url' ? [String((part.image_url as { url?: unknown } | undefined)?.url ?? '')] : [],
  );
  if (images.length > 0) message.images = images;
  const calls = asRecords(record.tool_calls).map((call) => {
    const fn = (call.function ?? {}) as Record<string, unknown>;
    return { id: String(call.id ?? ''), name: String(fn.name ?? ''), arguments: String(fn.arguments ?? '') };
  });
  if (calls.length > 0) message.toolCalls = calls;
  if (typeof record.tool_call_id === 'string') message.toolCallId = record.tool_call_id;
  return message;
}

function chatInput(body: Record<string, unknown>): FakeChatInput {
  const tools = asRecords(body.tools).map((tool) => String((tool.function as { name?: unknown } | undefined)?.name));
  return {
    model: String(body.model ?? ''),
    messages: asRecords(body.messages).map(readMessage),
    maxTokens: numberField(body, 'max_completion_tokens') ?? numberField(body, 'max_tokens'),
    ...(tools.length > 0 && { tools }),
    stop: stringList(body.stop),
  };
}

const callId = () => `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

/** `prompt_tokens` is the whole prompt; cache hits are a detail of it. OpenAI reports no cache writes. */
function usage(plan: ReplyPlan) {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: plan.completionTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
    prompt_tokens_details: { cached_tokens: plan.cachedPromptTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

async function chatCompletions(ctx: RouteContext): Promise<void> {
  const input = chatInput(ctx.body);
  if (!ctx.knowsModel(input.model)) {
    return ctx.error(404, `The model \`${input.model}\` does not exist or you do not have access to it.`);
  }
  const plan = planReply(input, ctx.reply, ctx.promptCache);
  const calls = plan.toolCalls.map((call) => ({ ...call, id: call.id ?? callId() }));
  const finishReason = plan.truncated ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop';
  const id = `chatcmpl-${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  const head = { id, created, model: input.model, system_fingerprint: 'fp_fake', service_tier: 'default' };

  if (ctx.body.stream !== true) {
    const toolCalls = calls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
    const message = {
      role: 'assistant',
      content: calls.length > 0 && plan.text === '' ? null : plan.text,
      refusal: null,
      annotations: [],
      ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
    };
    return ctx.json({
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage: usage(plan),
    });
  }

  const options = ctx.body.stream_options as { include_usage?: boolean } | undefined;
  const withUsage = options?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    sseFrame({
      ...head,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(withUsage ? { usage: null } : {}),
    });
  const frames = [
    chunk({ role: 'assistant', content: '', refusal: null }, null),
    ...plan.tokens.map((token) => chunk({ content: token }, null)),
    // id, type and name only on a call's first delta; its arguments follow in pieces, by index
    ...calls.flatMap((call, index) => [
      chunk(
        { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
        null,
      ),
      ...splitInThree(call.arguments).map((piece) =>
        chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null),
      ),
    ]),
    chunk({}, finishReason),
  ];
  if (withUsage) {
    const last = { ...head, object: 'chat.completion.chunk', choices: [] };
    frames.push(sseFrame({ ...last, usage: usage(plan) }));
  }
  frames.push(sseFrame('[DONE]'));
  return ctx.stream('text/event-stream; charset=utf-8', frames);
}

async function embeddings(ctx: RouteContext): Promise<void> {
  const model = String(ctx.body.model ?? '');
  if (!ctx.knowsModel(model)) return ctx.error(404, `The model \`${model}\` does not exist.`);
  const raw = ctx.body.input;
  const inputs = (Array.isArray(raw) ? raw : [raw]).map((item) => contentText(item));
  const dimensions = numberField(ctx.body, 'dimensions') ?? (model.includes('large') ? 3072 : 1536);
  const base64 = ctx.body.encoding_format === 'base64';
  const promptTokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
  return ctx.json({
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = fakeEmbedding(text, dimensions);
      return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
    }),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}

function model(id: string, m: { created?: number; ownedBy?: string }) {
  return { id, object: 'model', created: m.created ?? created, owned_by: m.ownedBy ?? 'openai' };
}

/**
 * A fake OpenAI API: chat completions (SSE and JSON), models and embeddings.
 * Give `fake.baseURL` (which ends in `/v1`) to `new OpenAI({ baseURL })`.
 */
export function startOpenAIFake(options: FakeOptions = {}): Promise<FakeServer> {
  return startFakeServer(
    {
      ...protocol,
      routes: [
        { method: 'POST', path: '/v1/chat/completions', handle: chatCompletions },
        { method: 'POST', path: '/v1/embeddings', handle: embeddings },
        {
          method: 'GET',
          path: '/v1/models',
          handle: (ctx) => ctx.json({ object: 'list', data: ctx.models.map((m) => model(m.id, m)) }),
        },
        {
          method: 'GET',
          path: /^\/v1\/models\/(.+)$/,
          handle: (ctx) => {
            const found = ctx.models.find((m) => m.id === ctx.params[0]);
            if (!found) return ctx.error(404, `The model '${ctx.params[0]}' does not exist`);
            return ctx.json(model(found.id, found));
          },
        },
      ],
    },
    {
      ...options,
      models: options.models ?? [{ id: 'gpt-4o-mini' }, { id: 'gpt-4o' }, { id: 'text-embedding-3-small' }],
    },
  );
}
