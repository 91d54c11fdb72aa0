import { fakeEmbedding } from './fake-embeddings.js';
import { numberField } from './fake-framing.js';
import {
  asRecords,
  countTokens,
  type FakeChatInput,
  type FakeChatMessage,
  planReply,
  stringList,
} from './fake-script.js';
import { startFakeServer } from './fake-server.js';
import type { FakeModel, FakeOptions, FakeProtocol, FakeServer, RouteContext } from './fake-types.js';

const createdAt = '2025-01-01T00:00:00.000Z';
/** Ollama names models `name:tag`; a bare name means `:latest`. */
const withTag = (id: string) => (id.includes(':') ? id : `${id}:latest`);
const notFound = (model: string) => `model "${model}" not found, try pulling it first`;

const protocol: Omit<FakeProtocol, 'routes'> = {
  baseURLPath: '',
  errorBody: (_status, message) => ({ error: message }),
  malformedFrame: '{"model":"broken","message":{"role":"assistant","content":\n',
  authorized: (headers, apiKey) => headers.authorization === `Bearer ${apiKey}`,
  normalizeModel: withTag,
};

/**
 * One message: base64 `images`, assistant `tool_calls` (arguments as an object, ids optional), and a
 * tool message's `tool_name` (Ollama matches results by name; it stands in for the call id).
 */
function readMessage(record: Record<string, unknown>): FakeChatMessage {
  const message: FakeChatMessage = { role: String(record.role ?? ''), content: String(record.content ?? '') };
  const images = stringList(record.images);
  if (images?.length) message.images = images;
  const calls = asRecords(record.tool_calls).map((call, index) => {
    const fn = (call.function ?? {}) as Record<string, unknown>;
    const id = String(call.id ?? `#${index}`);
    return { id, name: String(fn.name ?? ''), arguments: JSON.stringify(fn.arguments ?? {}) };
  });
  if (calls.length > 0) message.toolCalls = calls;
  if (typeof record.tool_name === 'string') message.toolCallId = record.tool_name;
  return message;
}

function chatInput(body: Record<string, unknown>): FakeChatInput {
  const options = (body.options ?? {}) as Record<string, unknown>;
  const tools = asRecords(body.tools).map((tool) => String((tool.function as { name?: unknown } | undefined)?.name));
  return {
    model: String(body.model ?? ''),
    messages: asRecords(body.messages).map(readMessage),
    maxTokens: numberField(options, 'num_predict'),
    ...(tools.length > 0 && { tools }),
    stop: stringList(options.stop),
  };
}

async function chat(ctx: RouteContext): Promise<void> {
  const input = chatInput(ctx.body);
  if (!ctx.knowsModel(input.model)) return ctx.error(404, notFound(input.model));
  const plan = planReply(input, ctx.reply);
  const head = { model: input.model, created_at: createdAt };
  const done = {
    done: true,
    done_reason: plan.truncated ? 'length' : 'stop',
    // nanoseconds, as Ollama reports them; fixed so replies are byte-for-byte repeatable
    total_duration: 5_000_000 + plan.completionTokens * 1_000_000,
    load_duration: 1_000_000,
    prompt_eval_count: plan.promptTokens,
    prompt_eval_duration: 2_000_000,
    eval_count: plan.completionTokens,
    eval_duration: plan.completionTokens * 1_000_000,
  };
  // whole calls, arguments as an object; an id only when the script gave one
  const toolCalls = plan.toolCalls.map((call, index) => ({
    ...(call.id !== undefined && { id: call.id }),
    function: { index, name: call.name, arguments: JSON.parse(call.arguments) as unknown },
  }));
  const calls = toolCalls.length > 0 ? { tool_calls: toolCalls } : {};
  if (ctx.body.stream !== true) {
    return ctx.json({ ...head, message: { role: 'assistant', content: plan.text, ...calls }, ...done });
  }
  const line = (value: unknown) => `${JSON.stringify(value)}\n`;
  return ctx.stream('application/x-ndjson', [
    ...plan.tokens.map((content) => line({ ...head, message: { role: 'assistant', content }, done: false })),
    ...(toolCalls.length > 0
      ? [line({ ...head, message: { role: 'assistant', content: '', ...calls }, done: false })]
      : []),
    line({ ...head, message: { role: 'assistant', content: '' }, ...done }),
  ]);
}

async function embed(ctx: RouteContext): Promise<void> {
  const model = String(ctx.body.model ?? '');
  if (!ctx.knowsModel(model)) return ctx.error(404, notFound(model));
  const raw = ctx.body.input;
  const inputs = (Array.isArray(raw) ? raw : [raw]).map(String);
  const dimensions = numberField(ctx.body, 'dimensions') ?? 768;
  return ctx.json({
    model,
    embeddings: inputs.map((text) => fakeEmbedding(text, dimensions)),
    total_duration: 1_000_000,
    load_duration: 100_000,
    prompt_eval_count: inputs.reduce((sum, text) => sum + countTokens(text), 0),
  });
}

const details = {
  parent_model: '',
  format: 'gguf',
  family: 'llama',
  families: ['llama'],
  parameter_size: '3.2B',
  quantization_level: 'Q4_K_M',
};

function tag(m: FakeModel) {
  const name = withTag(m.id);
  return { name, model: name, modified_at: createdAt, size: 2_019_393_189, digest: 'a80c4f17acd5', details };
}

async function show(ctx: RouteContext): Promise<void> {
  const id = String(ctx.body.model ?? ctx.body.name ?? '');
  const found = ctx.models.find((m) => withTag(m.id) === withTag(id));
  if (!found) return ctx.error(404, notFound(id));
  const info: Record<string, unknown> = { 'general.architecture': 'llama', 'general.parameter_count': 3_212_749_888 };
  if (found.contextWindow !== undefined) info['llama.context_length'] = found.contextWindow;
  return ctx.json({
    license: '',
    modelfile: `FROM ${withTag(id)}\n`,
    parameters: '',
    template: '{{ .Prompt }}',
    details,
    model_info: info,
    capabilities: ['completion'],
    modified_at: createdAt,
  });
}

/**
 * A fake Ollama server: chat (NDJSON and JSON), tags, version, embed and show.
 * Give `fake.baseURL` to `new Ollama({ host })`.
 */
export function startOllamaFake(options: FakeOptions = {}): Promise<FakeServer> {
  return startFakeServer(
    {
      ...protocol,
      routes: [
        { method: 'POST', path: '/api/chat', handle: chat },
        { method: 'POST', path: '/api/embed', handle: embed },
        { method: 'POST', path: '/api/show', handle: show },
        { method: 'GET', path: '/api/tags', handle: (ctx) => ctx.json({ models: ctx.models.map(tag) }) },
        { method: 'GET', path: '/api/version', handle: (ctx) => ctx.json({ version: '0.12.0' }) },
      ],
    },
    { ...options, models: options.models ?? [{ id: 'llama3.2', contextWindow: 131_072 }, { id: 'nomic-embed-text' }] },
  );
}
