import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tracingOff } from '../../src/tracing/index.js';
import { type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { writeConfigFile } from '../helpers/config-file.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { collect, STREAM_EVENT_FIELDS, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { conversation { id } assistantMessage { id } } }`;
const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) { ${STREAM_EVENT_FIELDS} } }`;
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const traceparent = (span = CALLER_SPAN) => `00-${CALLER_TRACE}-${span}-01`;
const SERVER = 2;
const CLIENT = 3;
const rawId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;

describe('traces exported by OTLP', () => {
  let receiver: OtlpReceiver;
  let openai: FakeServer;
  let anthropic: FakeServer;
  let file: ReturnType<typeof writeConfigFile>;
  let server: TestServer;

  beforeAll(async () => {
    [receiver, openai, anthropic] = await Promise.all([startOtlpReceiver(), startOpenAIFake(), startAnthropicFake()]);
    file = writeConfigFile({
      aliases: {
        smart: {
          deployments: [{ provider: 'openai', model: 'gpt-4o-mini' }],
          fallbacks: ['anthropic/claude-haiku-4-5'],
        },
      },
      resilience: { retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 5 } },
    });
    server = await startTestServer({
      ...fakeProviderEnv({ openai, anthropic }),
      SWITCHYARD_CONFIG: file.path,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'switchyard-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([receiver?.close(), openai?.close(), anthropic?.close()]);
    file?.cleanup();
  });
  afterEach(() => openai.faults.clear());

  const sendWithTrace = async (content: string, model: string) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: traceparent() },
      body: JSON.stringify({ query: SEND, variables: { input: { content, model } } }),
    });
    const body = (await response.json()) as {
      data?: { sendMessage: { conversation: { id: string }; assistantMessage: { id: string } } };
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    return body.data?.sendMessage as { conversation: { id: string }; assistantMessage: { id: string } };
  };
  const finish = async (messageId: string) => {
    const client = wsClient(server.wsUrl);
    try {
      return await collect(client, STREAM, { id: messageId }, 'messageStream').done;
    } finally {
      await client.dispose();
    }
  };
  const spansOf = (traceId: string, count: (spans: ReceivedSpan[]) => boolean, what: string) =>
    eventually(() => receiver.spans().filter((s) => s.traceId === traceId), count, { what });

  it("a chat with a retry and a fallback: the operation span is the caller's child, each upstream attempt a chat span with the GenAI attributes", async () => {
    openai.faults.next({ path: '/v1/chat/completions', status: 503 }, 2);
    const prompt = 'tell me about the secret garden';
    const sent = await sendWithTrace(prompt, 'smart');
    const events = await finish(sent.assistantMessage.id);
    expect(events.at(-1)?.__typename).toBe('MessageCompleted');

    const spans = await spansOf(
      CALLER_TRACE,
      (s) => s.filter((x) => x.name.startsWith('chat ')).length >= 3,
      'three chat spans',
    );
    const operation = spans.find((s) => s.name === 'mutation Send') as ReceivedSpan;
    expect(operation).toMatchObject({
      kind: SERVER,
      parentSpanId: CALLER_SPAN,
      serviceName: 'switchyard-test',
      attributes: { 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'Send' },
    });
    const chats = spans.filter((s) => s.name.startsWith('chat '));
    expect(
      chats.map((s) => [s.name, s.attributes['gen_ai.provider.name'], s.attributes['error.type'] ?? null]),
    ).toEqual([
      ['chat gpt-4o-mini', 'openai', 'PROVIDER_UNAVAILABLE'],
      ['chat gpt-4o-mini', 'openai', 'PROVIDER_UNAVAILABLE'],
      ['chat claude-haiku-4-5', 'anthropic', null],
    ]);
    for (const chat of chats) {
      expect(chat.kind).toBe(CLIENT);
      expect(chat.parentSpanId).toBe(operation.spanId);
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.conversation.id': rawId(sent.conversation.id),
      });
    }
    const answered = chats[2] as ReceivedSpan;
    expect(answered.attributes).toMatchObject({
      'gen_ai.request.model': 'claude-haiku-4-5',
      'gen_ai.response.model': 'claude-haiku-4-5',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(answered.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(answered.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(answered.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    expect(answered.events).toContain('gen_ai.first_chunk');
    expect(chats[0]?.attributes['http.response.status_code']).toBe(503);
    // Without the opt-in no prompt or reply text is exported, in any span.
    expect(receiver.exports.some((e) => e.body.includes('secret garden'))).toBe(false);
    expect(chats.some((s) => 'gen_ai.input.messages' in s.attributes)).toBe(false);
  });

  it('a failed operation carries its error code as error.type', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: traceparent('2222222222222222') },
      body: JSON.stringify({
        query: `mutation Missing { sendMessage(input: { content: "hi", conversationId: "${Buffer.from('Conversation:00000000-0000-4000-8000-000000000000').toString('base64url')}" }) { assistantMessage { id } } }`,
      }),
    });
    expect(response.status).toBe(200);
    const spans = await spansOf(
      CALLER_TRACE,
      (s) => s.some((x) => x.parentSpanId === '2222222222222222'),
      'the query span',
    );
    const span = spans.find((s) => s.parentSpanId === '2222222222222222') as ReceivedSpan;
    expect(span.name).toBe('mutation Missing');
    expect(span.attributes['error.type']).toBe('NOT_FOUND');
  });
  it('a malformed, all-zero or oversized traceparent is ignored: the operation starts a trace of its own', async () => {
    const hostile = [
      'not-a-traceparent',
      `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`,
      `00-${CALLER_TRACE}-${'0'.repeat(16)}-01`,
      `ff-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      `00-${CALLER_TRACE}-${CALLER_SPAN}-01-${'x'.repeat(8_000)}`,
    ];
    for (const [index, header] of hostile.entries()) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: header },
        body: JSON.stringify({ query: `query Hostile${index} { __typename }` }),
      });
      expect(response.status).toBe(200);
    }
    const spans = await eventually(
      () => receiver.spans().filter((s) => s.name.startsWith('query Hostile')),
      (s) => s.length === hostile.length,
      { what: 'a span per hostile request' },
    );
    for (const span of spans) {
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.traceId).not.toBe(CALLER_TRACE);
      expect(span.traceId).not.toBe('0'.repeat(32));
      expect(span.parentSpanId).toBeUndefined();
    }
  });
  // Last: its key ends the loopback default user the tests above sign in as.
  it('a REST call is a SERVER span named by its route, child of the caller, with its chat span inside', async () => {
    const { secret } = await keyCaller(server.app.database.prisma, 'rest-tracer');
    const client = new OpenAI({
      apiKey: secret,
      maxRetries: 0,
      baseURL: `${server.origin}/v1`,
      defaultHeaders: { traceparent: traceparent('1111111111111111') },
    });
    const reply = await client.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(reply.choices[0]?.message.content).toBeTruthy();
    const spans = await spansOf(
      CALLER_TRACE,
      (s) => s.some((x) => x.name === 'POST /v1/chat/completions' && x.parentSpanId === '1111111111111111'),
      'the REST span',
    );
    const rest = spans.find((s) => s.parentSpanId === '1111111111111111') as ReceivedSpan;
    expect(rest).toMatchObject({
      kind: SERVER,
      attributes: { 'http.route': '/v1/chat/completions', 'http.response.status_code': 200 },
    });
    await spansOf(
      CALLER_TRACE,
      (s) => s.some((x) => x.parentSpanId === rest.spanId && x.name === 'chat gpt-4o-mini'),
      'its chat span',
    );
  });
});

describe('tracing off', () => {
  it('without an OTLP endpoint there is no tracer, and chats work as before; METRICS=off records nothing', async () => {
    const server = await startTestServer({ OTEL_SERVICE_NAME: 'unused', MOCK_TOKEN_DELAY_MS: '0', METRICS: 'off' });
    expect(server.app.tracing).toBe(tracingOff);
    const result = await server.query(SEND, { input: { content: 'hi' } });
    expect(result.errors).toBeUndefined();
    // METRICS=off (the benchmark's baseline): nothing recorded, nothing served.
    expect((await server.app.metrics.render()).trim()).toBe('');
    expect((await fetch(`${server.origin}/metrics`)).status).toBe(404);
  });
});
