import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { collect, STREAM_EVENT_FIELDS, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const STREAM = `subscription Follow($id: ID!) { messageStream(messageId: $id) { ${STREAM_EVENT_FIELDS} } }`;
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER = 'b7ad6b7169203331';

describe.skipIf(!postgresUrl || !redisUrl)('one trace across two instances (Postgres and Redis)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let receiver: OtlpReceiver;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl as string);
    receiver = await startOtlpReceiver();
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: redisUrl as string,
      MOCK_TOKEN_DELAY_MS: '20',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    };
    a = await startTestServer({ ...env, OTEL_SERVICE_NAME: 'instance-a' });
    b = await startTestServer({ ...env, OTEL_SERVICE_NAME: 'instance-b' });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await receiver?.close();
    await scratch?.drop();
  });

  it("a generation started on A and followed on B stays in the caller's trace, with Postgres and Redis spans", async () => {
    const response = await fetch(a.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${TRACE}-${CALLER}-01` },
      body: JSON.stringify({ query: SEND, variables: { input: { content: 'one two three four five six seven' } } }),
    });
    const sent = (await response.json()) as { data: { sendMessage: { assistantMessage: { id: string } } } };
    const client = wsClient(b.wsUrl);
    try {
      const events = await collect(client, STREAM, { id: sent.data.sendMessage.assistantMessage.id }, 'messageStream')
        .done;
      expect(events.at(-1)?.__typename).toBe('MessageCompleted');
    } finally {
      await client.dispose();
    }
    const spans = await eventually(
      () => receiver.spans(),
      (all) => all.some((s) => s.name === 'follow message stream' && s.serviceName === 'instance-b'),
      { what: "B's follower span" },
    );
    const inTrace = spans.filter((s) => s.traceId === TRACE);
    const mutation = inTrace.find((s) => s.name === 'mutation Send') as ReceivedSpan;
    expect(mutation).toMatchObject({ serviceName: 'instance-a', parentSpanId: CALLER });
    expect(inTrace.find((s) => s.name.startsWith('chat '))?.parentSpanId).toBe(mutation.spanId);
    const follower = inTrace.find((s) => s.name === 'follow message stream' && s.serviceName === 'instance-b');
    expect(follower).toMatchObject({ parentSpanId: mutation.spanId, kind: 5 });
    // B's subscription span is its own trace (the client sent no traceparent), linked from the follower.
    const subscription = spans.find((s) => s.name === 'subscription Follow' && s.serviceName === 'instance-b');
    expect(follower?.links).toEqual([{ traceId: subscription?.traceId, spanId: subscription?.spanId }]);
    // The mutation's own statements and commands are its children.
    const children = inTrace.filter((s) => s.parentSpanId === mutation.spanId);
    expect(children.some((s) => s.attributes['db.system.name'] === 'postgresql')).toBe(true);
    expect(inTrace.some((s) => s.attributes['db.system.name'] === 'redis' && s.serviceName === 'instance-a')).toBe(
      true,
    );
  });
});
