import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../src/schema/global-id.js';
import { writeConfigFile } from './helpers/config-file.js';
import { createScratchDatabase, holdInserts, postgresUrl, redisUrl } from './helpers/postgres.js';
import { spawnServer } from './helpers/spawn-server.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, shape, wsClient } from './helpers/subscribe.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const STREAM = `subscription ($id: ID!, $after: Int) { messageStream(messageId: $id, afterSeq: $after) { ${STREAM_EVENT_FIELDS} } }`;
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) { ${STREAM_EVENT_FIELDS} } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const rawId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;

describe.skipIf(!postgresUrl || !redisUrl)('several instances sharing Postgres and Redis', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let file: ReturnType<typeof writeConfigFile>;
  let env: Record<string, string>;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl as string);
    file = writeConfigFile({
      chat: { heartbeatMs: 100, staleAfterMs: 1_000, sweepIntervalMs: 200, flushIntervalMs: 50 },
    });
    env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: redisUrl as string,
      MOCK_TOKEN_DELAY_MS: '40',
      SWITCHYARD_CONFIG: file.path,
    };
    [a, b] = await Promise.all([startTestServer(env), startTestServer(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await scratch?.drop();
    file?.cleanup();
  });

  const sendTo = async (server: TestServer, content: string) => {
    const result = await server.query<{ sendMessage: { assistantMessage: { id: string } } }>(SEND, {
      input: { content },
    });
    expect(result.errors).toBeUndefined();
    return result.data?.sendMessage.assistantMessage.id as string;
  };

  it('a generation running on B streams to a subscriber on A, every delta once, in order', async () => {
    const id = await sendTo(b, words(25));
    expect(b.app.services.chat).toBeDefined();
    const client = wsClient(a.wsUrl);
    try {
      const events = await collect(client, STREAM, { id }, 'messageStream').done;
      const expected = `Mock reply to: ${words(25)}`;
      expect(shape(events)).toEqual({
        seqs: Array.from({ length: expected.split(' ').length }, (_, i) => i + 1),
        text: expected,
        terminal: ['MessageCompleted'],
      });
    } finally {
      await client.dispose();
    }
  });

  it('the id on the first delta of a chat on B works for messageStream on A before B has written its rows', async () => {
    const hold = await holdInserts(scratch.url, 'conversations');
    const onB = wsClient(b.wsUrl);
    const onA = wsClient(a.wsUrl);
    try {
      const chat = collect(onB, CHAT, { input: { content: words(30) } }, 'chat');
      const [delta] = await chat.waitFor(1);
      const id = (delta as StreamEventResult).messageId as string;
      expect(await a.app.database.prisma.message.count({ where: { id: rawId(id) } })).toBe(0);
      const followed = collect(onA, STREAM, { id, after: 0 }, 'messageStream');
      // Five more tokens (40 ms apart) while the rows wait: time enough for A to refuse the id.
      await chat.waitFor(6);
      await hold.release();
      const expected = `Mock reply to: ${words(30)}`;
      expect(shape(await followed.done)).toEqual({
        seqs: Array.from({ length: expected.split(' ').length }, (_, i) => i + 1),
        text: expected,
        terminal: ['MessageCompleted'],
      });
      expect(shape(await chat.done).text).toBe(expected);
    } finally {
      await hold.release().catch(() => {});
      await Promise.all([onA.dispose(), onB.dispose()]);
    }
  });

  it('cancelMessage on A with the id of a chat on B whose rows are not written yet cancels it', async () => {
    const hold = await holdInserts(scratch.url, 'conversations');
    const onB = wsClient(b.wsUrl);
    try {
      // 600 tokens 40 ms apart: a cancel that works ends it long before it completes.
      const chat = collect(onB, CHAT, { input: { content: words(600) } }, 'chat');
      const [delta] = await chat.waitFor(1);
      const id = (delta as StreamEventResult).messageId as string;
      expect(await a.app.database.prisma.message.count({ where: { id: rawId(id) } })).toBe(0);
      const cancelled = a.query<{ cancelMessage: { status: string; content: string } }>(
        'mutation ($id: ID!) { cancelMessage(id: $id) { status content } }',
        { id },
      );
      await chat.waitFor(6);
      await hold.release();
      const answer = await cancelled;
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.cancelMessage.status).toBe('CANCELLED');
      const events = await chat.done;
      expect(events.at(-1)).toMatchObject({ __typename: 'MessageFailed', code: 'CANCELLED' });
      expect(answer.data?.cancelMessage.content).toBe(shape(events).text);
    } finally {
      await hold.release().catch(() => {});
      await onB.dispose();
    }
  });

  it('messageStream on A for an id no instance streams is NOT_FOUND', async () => {
    const client = wsClient(a.wsUrl);
    try {
      const id = encodeGlobalId('Message', '00000000-0000-4000-8000-000000000000');
      await expect(collect(client, STREAM, { id }, 'messageStream').done).rejects.toMatchObject([
        { extensions: { code: 'NOT_FOUND' } },
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('cancelMessage sent to A stops the generation running on B', async () => {
    // 600 tokens 40 ms apart: 24 s, so a cancel that works ends it long before it completes.
    const id = await sendTo(b, words(600));
    const client = wsClient(a.wsUrl);
    try {
      const stream = collect(client, STREAM, { id }, 'messageStream');
      await stream.waitFor(3);
      const cancelled = await a.query<{ cancelMessage: { status: string; content: string } }>(
        'mutation ($id: ID!) { cancelMessage(id: $id) { status content } }',
        { id },
      );
      expect(cancelled.data?.cancelMessage.status).toBe('CANCELLED');
      const events = await stream.done;
      expect(events.at(-1)).toMatchObject({ __typename: 'MessageFailed', code: 'CANCELLED' });
      expect(cancelled.data?.cancelMessage.content).toBe(shape(events).text);
      expect(shape(events).text.length).toBeLessThan(`Mock reply to: ${words(600)}`.length);
    } finally {
      await client.dispose();
    }
  });

  it('when the owning instance is killed (-9), a live instance marks the message INTERRUPTED and its subscribers hear it', async () => {
    // 300 tokens 100 ms apart: still running when it is killed, however slow the machine.
    const child = spawnServer({ ...env, PORT: '0', MOCK_TOKEN_DELAY_MS: '100' });
    const url = await child.url;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SEND, variables: { input: { content: words(300) } } }),
    });
    const id = ((await response.json()) as { data: { sendMessage: { assistantMessage: { id: string } } } }).data
      .sendMessage.assistantMessage.id;
    const client = wsClient(a.wsUrl);
    try {
      const stream = collect(client, STREAM, { id }, 'messageStream');
      await stream.waitFor(4);
      child.child.kill('SIGKILL');
      expect(await child.exited).toBe('SIGKILL');
      const events = await stream.done;
      expect(events.at(-1)).toMatchObject({
        __typename: 'MessageFailed',
        code: 'INTERRUPTED',
        message: { status: 'FAILED' },
      });
      const row = await a.app.database.prisma.message.findUniqueOrThrow({ where: { id: rawId(id) } });
      expect(row).toMatchObject({ status: 'FAILED', errorCode: 'INTERRUPTED', ownerId: null });
      expect(row.content.startsWith('Mock reply to:')).toBe(true);
    } finally {
      await client.dispose();
    }
  });
});
