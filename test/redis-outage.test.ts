import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startOpenAIFake } from './fakes/index.js';
import { writeConfigFile } from './helpers/config-file.js';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase, postgresUrl, redisUrl } from './helpers/postgres.js';
import { collect, type StreamEventResult, shape, wsClient } from './helpers/subscribe.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { startValveProxy, type ValveProxy } from './helpers/valve-proxy.js';

const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) {
  __typename ... on MessageDelta { seq text } ... on MessageFailed { code error }
  ... on MessageCompleted { message { status content } } } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const CANCEL = 'mutation ($id: ID!) { cancelMessage(id: $id) { status } }';
const HEALTH = '{ health { status redis { status error } } }';
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const rawId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;
/** Generous: the machine is shared, and every wait here is for a condition, never a duration. */
const WAIT_MS = 60_000;

/** Fails with `what` if `promise` has not settled within WAIT_MS, instead of hanging to the test's timeout. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${WAIT_MS} ms for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe.skipIf(!postgresUrl || !redisUrl)('a Redis outage under two instances', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  /** Instances -> proxy (cut: connections refused) -> valve (hold: Redis silent) -> Redis. */
  let proxy: TcpProxy;
  let valve: ValveProxy;
  /** Whether the proxy is cut: restoring one that listens would listen twice on its port. */
  let cut = false;
  const cutRedis = async () => {
    cut = true;
    await proxy.cut();
  };
  const restoreRedis = async () => {
    if (!cut) return;
    cut = false;
    await proxy.restore();
  };
  let openai: FakeServer;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    const redis = new URL(redisUrl as string);
    valve = await startValveProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(valve.url).port) });
    redis.hostname = '127.0.0.1';
    redis.port = String(proxy.port);
    openai = await startOpenAIFake();
    // Paced like a model, so that the outage falls in the middle of a generation.
    openai.faults.always({ path: '/v1/chat/completions', tokenDelayMs: 40 });
    scratch = await createScratchDatabase(postgresUrl as string);
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: redis.toString(),
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
    };
    [a, b] = await Promise.all([startTestServer(env), startTestServer(env)]);
  }, WAIT_MS);
  afterAll(async () => {
    if (proxy) await restoreRedis(); // a failed test may have left it cut
    valve?.release();
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([proxy?.close(), valve?.close(), openai?.close(), scratch?.drop()]);
  }, WAIT_MS);

  const send = async (server: TestServer, content: string) => {
    const result = await server.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
      input: { provider: 'openai', model: 'gpt-4o-mini', content },
    });
    expect(result.errors).toBeUndefined();
    return result.data?.sendMessage.assistantMessage.id as string;
  };

  const health = async (server: TestServer) => {
    const ready = await fetch(new URL('/health/ready', server.url));
    const body = (await ready.text()) as string;
    const graphql = await server.query<{ health: { status: string; redis: { status: string; error: string } } }>(
      HEALTH,
    );
    return { ready: ready.status, body, redis: graphql.data?.health.redis, status: graphql.data?.health.status };
  };

  const row = (server: TestServer, id: string) =>
    server.app.database.prisma.message.findUniqueOrThrow({ where: { id: rawId(id) } });

  /** Every delta once, in order, its text what was stored, and one terminal event: MessageCompleted. */
  const expectWhole = async (events: StreamEventResult[], stored: { content: string; lastSeq: number }) => {
    expect(shape(events)).toEqual({
      seqs: Array.from({ length: stored.lastSeq }, (_, i) => i + 1),
      text: stored.content,
      terminal: ['MessageCompleted'],
    });
  };

  it(
    'generations go on, every subscriber on both instances gets every delta and one end, and health says Redis was down',
    async () => {
      const clients = [wsClient(a.wsUrl), wsClient(b.wsUrl)] as const;
      const [onA, onB] = clients;
      try {
        // A long generation owned by A, followed on A (its local buffer) and on B (through Redis).
        const long = await send(a, words(200));
        const longOnA = collect(onA, STREAM, { id: long }, 'messageStream');
        const longOnB = collect(onB, STREAM, { id: long }, 'messageStream');
        await within(Promise.all([longOnA.waitFor(3), longOnB.waitFor(3)]), 'the first deltas on A and B');

        await cutRedis();
        for (const server of [a, b]) {
          const down = await eventually(
            () => health(server),
            (h) => h.ready === 503 && h.redis?.status === 'down',
            WAIT_MS,
          );
          expect(down.ready).toBe(503);
          expect(JSON.parse(down.body).reason).toMatch(/redis/i);
          // Says what is down, not where: no host, port or driver text.
          expect(down.body).not.toContain(String(proxy.port));
          expect(down.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|max retries/i);
          expect(down.status).toBe('degraded');
        }

        // During the outage: A keeps serving its own subscriber; a chat sent to B runs to the end,
        // with a subscriber on B (local) and one on A that has to wait for Redis.
        const seenBeforeCut = longOnA.events.length;
        const short = await send(b, words(40));
        const shortOnB = collect(onB, STREAM, { id: short }, 'messageStream');
        const shortOnA = collect(onA, STREAM, { id: short }, 'messageStream');
        await within(longOnA.waitFor(seenBeforeCut + 5), 'deltas on A, the owner, during the outage');
        const shortLocal = await within(shortOnB.done, 'the end on B, the owner, during the outage');
        const shortRow = await eventually(
          () => row(b, short),
          (r) => r.status !== 'STREAMING',
          WAIT_MS,
        );
        expect(shortRow).toMatchObject({ status: 'COMPLETE', errorCode: null, content: `echo: ${words(40)}` });
        await expectWhole(shortLocal, shortRow);
        expect(shortOnA.events).toEqual([]);
        // Let every command sent during the outage fail at least once (ioredis fails queued commands
        // after a few reconnect attempts): a PING sent now fails after anything queued before it.
        const clientsOf = (server: TestServer) => {
          const redis = server.app.redis as NonNullable<TestServer['app']['redis']>;
          return [redis.command, redis.streamSubscriber];
        };
        const pings = [a, b].flatMap(clientsOf).map((client) => within(client.ping(), 'a PING while Redis is cut'));
        for (const ping of await Promise.allSettled(pings)) expect(ping.status).toBe('rejected');
        // Still down: the short chat was served without Redis.
        expect((await health(b)).redis?.status).toBe('down');

        await restoreRedis();
        for (const server of [a, b]) {
          const up = await eventually(
            () => health(server),
            (h) => h.ready === 200 && h.redis?.status === 'ok',
            WAIT_MS,
          );
          expect(up).toMatchObject({ ready: 200, redis: { status: 'ok' } });
        }

        const [longA, longB, shortA] = await within(
          Promise.all([longOnA.done, longOnB.done, shortOnA.done]),
          'every subscriber to end after Redis came back',
        );
        const longRow = await row(a, long);
        expect(longRow).toMatchObject({ status: 'COMPLETE', errorCode: null, content: `echo: ${words(200)}` });
        await expectWhole(longA, longRow);
        await expectWhole(longB, longRow);
        await expectWhole(shortA, shortRow);
      } finally {
        await restoreRedis();
        await Promise.all(clients.map((client) => client.dispose()));
      }
    },
    5 * WAIT_MS,
  );
  it(
    'a Redis that stops answering holds the shared stream back, and loses nothing when it answers again',
    async () => {
      const clients = [wsClient(a.wsUrl), wsClient(b.wsUrl)] as const;
      try {
        const id = await send(a, words(60));
        const onOwner = collect(clients[0], STREAM, { id }, 'messageStream');
        const elsewhere = collect(clients[1], STREAM, { id }, 'messageStream');
        await within(Promise.all([onOwner.waitFor(3), elsewhere.waitFor(3)]), 'the first deltas on A and B');

        valve.hold(); // connections stay open, replies wait: no error for ioredis to see
        for (const server of [a, b]) {
          const down = await eventually(
            () => health(server),
            (h) => h.ready === 503 && h.redis?.status === 'down',
            WAIT_MS,
          );
          expect(JSON.parse(down.body).reason).toMatch(/redis/i);
        }
        const stored = await eventually(
          () => row(a, id),
          (r) => r.status !== 'STREAMING',
          WAIT_MS,
        );
        expect(stored).toMatchObject({ status: 'COMPLETE', content: `echo: ${words(60)}` });
        await expectWhole(await within(onOwner.done, 'the end on A, the owner, while Redis is silent'), stored);

        valve.release();
        for (const server of [a, b]) {
          await eventually(
            () => health(server),
            (h) => h.ready === 200 && h.redis?.status === 'ok',
            WAIT_MS,
          );
        }
        await expectWhole(await within(elsewhere.done, 'the end on B once Redis answers'), stored);
      } finally {
        valve.release();
        await Promise.all(clients.map((client) => client.dispose()));
      }
    },
    5 * WAIT_MS,
  );

  it(
    'a cancel asked of the other instance during the cut reaches the owner once Redis is back; every subscriber hears CANCELLED once',
    async () => {
      const sent = await a.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
        input: { provider: 'openai', model: 'gpt-4o-mini', content: words(1_000) },
      });
      const id = sent.data?.sendMessage.assistantMessage.id as string;
      const clients = [wsClient(a.wsUrl), wsClient(b.wsUrl)];
      try {
        const streams = clients.map((client) => collect(client, STREAM, { id }, 'messageStream'));
        await Promise.all(streams.map((stream) => stream.waitFor(3)));

        await cutRedis();
        // Asked of the other instance, which has to publish it to the owner. It waits for the end
        // it cannot hear while Redis is cut, then answers with the row as it is: still streaming.
        const asked = await b.query<{ cancelMessage: { status: string } }>(CANCEL, { id });
        expect(asked.errors).toBeUndefined();
        expect(asked.data?.cancelMessage.status).toBe('STREAMING');
        await restoreRedis();

        const stored = await eventually(
          () => a.app.database.prisma.message.findUniqueOrThrow({ where: { id: rawId(id) } }),
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
        await restoreRedis();
        await Promise.all(clients.map((client) => client.dispose()));
      }
    },
    5 * WAIT_MS,
  );
});

describe.skipIf(!postgresUrl || !redisUrl)('an owner that stops during a Redis outage', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let proxy: TcpProxy;
  let openai: FakeServer;
  let file: ReturnType<typeof writeConfigFile>;
  let owner: TestServer | undefined;
  let reader: TestServer;
  let cut = false;

  beforeAll(async () => {
    const redis = new URL(redisUrl as string);
    proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    redis.hostname = '127.0.0.1';
    redis.port = String(proxy.port);
    openai = await startOpenAIFake();
    openai.faults.always({ path: '/v1/chat/completions', tokenDelayMs: 40 });
    scratch = await createScratchDatabase(postgresUrl as string);
    // A reader that has heard nothing for a second asks the database (staleAfterMs).
    file = writeConfigFile({ chat: { heartbeatMs: 100, staleAfterMs: 1_000, sweepIntervalMs: 200 } });
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: redis.toString(),
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
      SWITCHYARD_CONFIG: file.path,
    };
    [owner, reader] = await Promise.all([startTestServer(env), startTestServer(env)]);
  }, WAIT_MS);
  afterAll(async () => {
    if (cut) await proxy.restore();
    await Promise.all([owner?.close(), reader?.close()]);
    await Promise.all([proxy?.close(), openai?.close(), scratch?.drop()]);
    file?.cleanup();
  }, WAIT_MS);

  it(
    'gives a subscriber elsewhere its terminal event from the stored message when the end never reached Redis',
    async () => {
      const running = owner as TestServer;
      const result = await running.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
        input: { provider: 'openai', model: 'gpt-4o-mini', content: words(40) },
      });
      const id = result.data?.sendMessage.assistantMessage.id as string;
      const client = wsClient(reader.wsUrl);
      try {
        const stream = collect(client, STREAM, { id }, 'messageStream');
        await within(stream.waitFor(2), 'the first deltas through Redis');
        cut = true;
        await proxy.cut();
        const stored = await eventually(
          () => running.app.database.prisma.message.findUniqueOrThrow({ where: { id: rawId(id) } }),
          (r) => r.status !== 'STREAMING',
          WAIT_MS,
        );
        expect(stored).toMatchObject({ status: 'COMPLETE', content: `echo: ${words(40)}` });
        // The owner stops with its shared writes still held back: they are given up.
        await running.close();
        owner = undefined;
        cut = false;
        await proxy.restore();

        const events = await within(stream.done, 'the terminal event on the other instance');
        const { seqs, text, terminal } = shape(events);
        expect(terminal).toEqual(['MessageCompleted']);
        expect(events.at(-1)?.message).toMatchObject({ status: 'COMPLETE', content: stored.content });
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
        expect(stored.content.startsWith(text)).toBe(true);
      } finally {
        await client.dispose();
      }
    },
    5 * WAIT_MS,
  );
});
