/**
 * Two instances sharing Postgres and Redis: a generation runs on B while a client follows it on A
 * over graphql-ws. Each instance reports itself: B has the open stream (back to 0 at the end) and
 * the generation; A the subscriber and the deltas it sent. Both show node-postgres' pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from '../helpers/postgres.js';
import { scrapeMetrics, total } from '../helpers/prometheus.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, wsClient } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const STREAM = `subscription Follow($id: ID!) { messageStream(messageId: $id) { ${STREAM_EVENT_FIELDS} } }`;

describe.skipIf(!postgresUrl || !redisUrl)('/metrics of two instances sharing Postgres and Redis', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl as string);
    const env = { DATABASE_URL: scratch.url, REDIS_URL: redisUrl as string, MOCK_TOKEN_DELAY_MS: '20' };
    [a, b] = await Promise.all([startTestServer(env), startTestServer(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await scratch?.drop();
  });

  it('counts the stream where it runs and the deltas where they are sent', async () => {
    const [beforeA, beforeB] = await Promise.all([scrapeMetrics(a.origin), scrapeMetrics(b.origin)]);
    const sent = await b.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
      input: { content: 'one two three four five six seven eight nine ten' },
    });
    expect(sent.errors).toBeUndefined();
    const id = sent.data?.sendMessage.assistantMessage.id as string;
    const client = wsClient(a.wsUrl);
    const follow = collect<StreamEventResult>(client, STREAM, { id }, 'messageStream');
    await follow.waitFor(1);
    const during = await scrapeMetrics(a.origin);
    expect(total(during, 'switchyard_graphql_subscribers_open', { transport: 'graphql-ws' })).toBe(1);
    expect(total(during, 'switchyard_websocket_connections_open')).toBe(1);
    const events = await follow.done;
    await client.dispose();
    const deltas = events.filter((e) => e.__typename === 'MessageDelta').length;
    expect(deltas).toBeGreaterThan(1);

    const [afterA, afterB] = await Promise.all([
      eventually(
        () => scrapeMetrics(a.origin),
        (s) => total(s, 'switchyard_graphql_subscribers_open') === 0,
        { what: "A's subscriber closed" },
      ),
      eventually(
        () => scrapeMetrics(b.origin),
        (s) => total(s, 'switchyard_streams_open') === 0,
        { what: "B's stream ended" },
      ),
    ]);
    const gained = (after: typeof afterA, before: typeof beforeA, name: string, where: Record<string, string> = {}) =>
      total(after, name, where) - total(before, name, where);
    expect(gained(afterA, beforeA, 'switchyard_stream_deltas_sent_total', { transport: 'graphql-ws' })).toBe(deltas);
    expect(gained(afterB, beforeB, 'switchyard_stream_deltas_sent_total')).toBe(0);
    expect(gained(afterB, beforeB, 'gen_ai_client_operation_duration_seconds_count')).toBe(1);
    expect(gained(afterA, beforeA, 'gen_ai_client_operation_duration_seconds_count')).toBe(0);
    for (const samples of [afterA, afterB]) {
      expect(total(samples, 'switchyard_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
      expect(total(samples, 'switchyard_db_pool_connections', { state: 'idle' })).toBeLessThanOrEqual(
        total(samples, 'switchyard_db_pool_connections', { state: 'total' }),
      );
    }
  });
});
