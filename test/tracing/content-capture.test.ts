import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { createTracing, redactForTelemetry, tracingOff, tracingSettings } from '../../src/tracing/index.js';
import { type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { startLoggedServer } from '../helpers/logged-server.js';
import { collect, STREAM_EVENT_FIELDS, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.js';

const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) { ${STREAM_EVENT_FIELDS} } }`;
const EMAIL = 'ada.lovelace@example.org';
const CARD = '4111 1111 1111 1111';

describe('content capture (opt-in), exported as http/protobuf', () => {
  let receiver: OtlpReceiver;
  let openai: FakeServer;
  let server: TestServer;
  beforeAll(async () => {
    [receiver, openai] = await Promise.all([startOtlpReceiver(), startOpenAIFake()]);
    server = await startTestServer({
      ...fakeProviderEnv({ openai }),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([receiver?.close(), openai?.close()]);
  });

  it('prompt and reply are on the chat span with personal data redacted; a search is a retrieval span without its query', async () => {
    openai.setReply(`I will write to ${EMAIL} about the pelican migration`);
    const sent = await server.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
      input: { content: `my card is ${CARD}, mail ${EMAIL}, ask about pelican nests`, model: 'openai/gpt-4o-mini' },
    });
    expect(sent.errors).toBeUndefined();
    const client = wsClient(server.wsUrl);
    try {
      await collect(client, STREAM, { id: sent.data?.sendMessage.assistantMessage.id }, 'messageStream').done;
    } finally {
      await client.dispose();
    }
    const search = await server.query('{ search(query: "zebra crossing secrets", mode: KEYWORD) { score } }');
    expect(search.errors).toBeUndefined();

    const bodies = () => Buffer.concat(receiver.exports.map((e) => e.body));
    // Protobuf keeps strings as UTF-8 bytes: what was exported can be searched without a decoder.
    await eventually(bodies, (all) => all.includes('retrieval') && all.includes('gen_ai.output.messages'), {
      what: 'the chat and retrieval spans',
    });
    expect(new Set(receiver.exports.map((e) => e.contentType))).toEqual(new Set(['application/x-protobuf']));
    const all = bodies();
    expect(all.includes('pelican nests')).toBe(true);
    expect(all.includes('pelican migration')).toBe(true);
    expect(all.includes('[EMAIL]')).toBe(true);
    expect(all.includes('[CARD]')).toBe(true);
    expect(all.includes(EMAIL)).toBe(false);
    expect(all.includes(CARD)).toBe(false);
    expect(all.includes('zebra crossing')).toBe(false);
  });
});

describe('tracing settings and redaction', () => {
  it('reads the standard variables, and refuses what it cannot honour', () => {
    expect(tracingSettings({})).toBeUndefined();
    expect(
      tracingSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-token=a%20b,tenant=t1',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).toMatchObject({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: { 'x-token': 'a b', tenant: 't1' },
      serviceName: 'switchyard',
      sampler: 'parentbased_traceidratio',
      ratio: 0.25,
      captureContent: false,
    });
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(() => tracingSettings({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(ConfigError);
    expect(() => tracingSettings({ ...base, OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(ConfigError);
    expect(() => tracingSettings({ ...base, OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(ConfigError);
    expect(() => tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
  });

  it('currentTraceId is the trace of the active span inside `with`, and nothing outside it or when off', async () => {
    const exported: string[] = [];
    const memory = new InMemorySpanExporter();
    // Kept past shutdown (the in-memory exporter forgets its spans when it shuts down).
    const exporter = Object.assign(memory, {
      export: (spans: { name: string }[], done: (result: { code: number }) => void) => {
        exported.push(...spans.map((s) => s.name));
        done({ code: 0 });
      },
    });
    const tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }, { exporter });
    const parent = tracing.extract('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const span = tracing.tracer?.startSpan('work', {}, parent);
    expect(span).toBeDefined();
    const seen = await tracing.with(tracing.withSpan(parent, span as NonNullable<typeof span>), async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return { id: tracing.currentTraceId(), traceparent: tracing.traceparent() };
    });
    expect(seen.id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(seen.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(tracing.currentTraceId()).toBeUndefined();
    span?.end();
    await tracing.shutdown();
    // Shutdown flushed the batch.
    expect(exported).toEqual(['work']);
    expect(tracingOff.currentTraceId()).toBeUndefined();
  });

  it('redacts detected values by kind and leaves ordinary text', () => {
    expect(redactForTelemetry(`mail ${EMAIL} or call about version 1.2.3 on 2026-12-01`)).toBe(
      'mail [EMAIL] or call about version 1.2.3 on 2026-12-01',
    );
    expect(redactForTelemetry('x'.repeat(100_000)).length).toBe(16_384);
  });
});

describe('access log and traces', () => {
  it("a request sent without traceparent, and each WebSocket operation, is logged under the trace of its operation's span", async () => {
    const receiver = await startOtlpReceiver();
    try {
      const { server, logs } = await startLoggedServer(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_BSP_SCHEDULE_DELAY: '50',
        },
        'info',
      );
      const result = await server.query('query Health { health { status } }');
      expect(result.errors).toBeUndefined();
      const spans = await eventually(
        () => receiver.spans().filter((s) => s.name === 'query Health'),
        (found) => found.length === 1,
        { what: 'the query span' },
      );
      const line = await eventually(
        () => logs.find((l) => l.message === 'access' && l.operation === 'query Health'),
        (found) => found !== undefined,
        { what: 'the access line' },
      );
      expect(line?.traceId).toBe(spans[0]?.traceId);

      // Over a WebSocket each operation is its own trace: its line names that one, not the upgrade's.
      const client = wsClient(server.wsUrl);
      try {
        for (const name of ['WsOne', 'WsTwo']) {
          await new Promise<void>((resolve, reject) =>
            client.subscribe(
              { query: `query ${name} { health { status } }` },
              { next: () => {}, error: reject, complete: resolve },
            ),
          );
        }
      } finally {
        await client.dispose();
      }
      const wsSpans = await eventually(
        () => receiver.spans().filter((s) => s.name === 'query WsOne' || s.name === 'query WsTwo'),
        (found) => found.length === 2,
        { what: 'the two WebSocket operation spans' },
      );
      for (const span of wsSpans) {
        const wsLine = await eventually(
          () => logs.find((l) => l.message === 'access' && l.operation === span.name),
          (found) => found !== undefined,
          { what: `the access line of ${span.name}` },
        );
        expect(wsLine?.traceId).toBe(span.traceId);
      }
      expect(wsSpans[0]?.traceId).not.toBe(wsSpans[1]?.traceId);
    } finally {
      await receiver.close();
    }
  });
});
