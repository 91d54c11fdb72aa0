import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOpenAIFake } from './fakes/index.js';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from './helpers/postgres.js';
import { collect, shape, wsClient } from './helpers/subscribe.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) {
  __typename ... on MessageDelta { seq text } ... on MessageFailed { code } } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const CANCEL = 'mutation ($id: ID!) { cancelMessage(id: $id) { status } }';
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const rawId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;
/** Generous: the machine is shared, and every wait here is for a condition, never a duration. */
const WAIT_MS = 60_000;

describe.skipIf(!postgresUrl || !redisUrl)('a cancel asked for during a Redis outage', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let proxy: TcpProxy;
  let cut = false;
  let openai: FakeServer;
  let owner: TestServer;
  let other: TestServer;

  beforeAll(async () => {
    const redis = new URL(redisUrl as string);
    proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    redis.hostname = '127.0.0.1';
    redis.port = String(proxy.port);
    openai = await startOpenAIFake();
    openai.faults.always({ path: '/v1/chat/completions', tokenDelayMs: 40 });
    scratch = await createScratchDatabase(postgresUrl as string);
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: redis.toString(),
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
    };
    [owner, other] = await Promise.all([startTestServer(env), startTestServer(env)]);
  }, WAIT_MS);
  afterAll(async () => {
    if (cut) await proxy.restore();
    await Promise.all([owner?.close(), other?.close()]);
    await Promise.all([proxy?.close(), openai?.close(), scratch?.drop()]);
  }, WAIT_MS);

  it(
    'reaches the owner once Redis is back, and every subscriber hears CANCELLED once',
    async () => {
      const sent = await owner.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
        input: { provider: 'openai', model: 'gpt-4o-mini', content: words(1_000) },
      });
      const id = sent.data?.sendMessage.assistantMessage.id as string;
      const clients = [wsClient(owner.wsUrl), wsClient(other.wsUrl)];
      try {
        const streams = clients.map((client) => collect(client, STREAM, { id }, 'messageStream'));
        await Promise.all(streams.map((stream) => stream.waitFor(3)));

        cut = true;
        await proxy.cut();
        // Asked of the other instance, which has to publish it to the owner. It waits for the end
        // it cannot hear while Redis is cut, then answers with the row as it is: still streaming.
        const asked = await other.query<{ cancelMessage: { status: string } }>(CANCEL, { id });
        expect(asked.errors).toBeUndefined();
        expect(asked.data?.cancelMessage.status).toBe('STREAMING');
        cut = false;
        await proxy.restore();

        const stored = await eventually(
          () => owner.app.database.prisma.message.findUniqueOrThrow({ where: { id: rawId(id) } }),
          (row) => row.status !== 'STREAMING',
          WAIT_MS,
        );
        expect(stored).toMatchObject({ status: 'CANCELLED', errorCode: 'CANCELLED' });
        for (const events of await Promise.all(streams.map((stream) => stream.done))) {
          expect(shape(events)).toEqual({
            seqs: Array.from({ length: stored.lastSeq }, (_, i) => i + 1),
            text: stored.content,
            terminal: ['MessageFailed'],
          });
          expect(events.at(-1)).toMatchObject({ code: 'CANCELLED' });
        }
      } finally {
        if (cut) await proxy.restore();
        cut = false;
        await Promise.all(clients.map((client) => client.dispose()));
      }
    },
    5 * WAIT_MS,
  );
});
