import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID } from '../src/db/default-user.js';
import { AppError } from '../src/errors.js';
import { parseGlobalId } from '../src/schema/global-id.js';
import type { MessageStreamEvent } from '../src/stream-store/types.js';
import { type FakeServer, startOllamaFake, startOpenAIFake } from './fakes/index.js';
import { writeConfigFile } from './helpers/config-file.js';
import { eventually, until } from './helpers/eventually.js';
import { spawnServer } from './helpers/spawn-server.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, shape, wsClient } from './helpers/subscribe.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const STREAM = `subscription ($id: ID!, $after: Int) { messageStream(messageId: $id, afterSeq: $after) { ${STREAM_EVENT_FIELDS} } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) {
  conversation { id } assistantMessage { id } } }`;
interface Sent {
  sendMessage: { conversation: { id: string }; assistantMessage: { id: string } };
}
const words = (n: number, prefix = 'w') => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');
const rawId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;

describe('backpressure: a bounded buffer and subscribers that fall behind', () => {
  let server: TestServer;
  let openai: FakeServer;
  let file: ReturnType<typeof writeConfigFile>;
  beforeAll(async () => {
    openai = await startOpenAIFake();
    // One delta per upstream token (no joining window), so the buffer bound is counted in tokens.
    file = writeConfigFile({ chat: { maxBufferedDeltas: 10, deltaWindowMs: 0 } });
    server = await startTestServer({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseURL,
      SWITCHYARD_CONFIG: file.path,
    });
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
    file?.cleanup();
  });
  afterEach(() => openai.faults.clear());

  const send = async () =>
    (await server.query<Sent>(SEND, { input: { content: 'go', provider: 'openai', model: 'gpt-4o-mini' } })).data
      ?.sendMessage as Sent['sendMessage'];
  const wordsIn = (events: StreamEventResult[]) => shape(events).text.split(' ').filter(Boolean).length;

  /**
   * Paces the fake by what a reader has received instead of by the clock: token k goes out only
   * once `reader` holds token k-1 (so each is its own delta), and after token `holdAt` the
   * stream also waits for `release()`. Nothing here depends on how fast the machine is.
   */
  function pacedBy(reader: () => StreamEventResult[], holdAt: number, tokens: number) {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    openai.faults.always({
      path: '/v1/chat/completions',
      gate: async (index) => {
        // frame 0 carries the role, frame k (1..tokens) the token w(k-1), then the finish frames
        if (index > holdAt) await released;
        if (index >= 2 && index <= tokens)
          await until(() => wordsIn(reader()) >= index - 1, `the reader to hold token ${index - 1}`);
      },
    });
    return { release };
  }

  it('a paused reader does not slow the generation or a fast reader, and is told it fell behind', async () => {
    openai.setReply(words(60));
    let fastEvents: StreamEventResult[] = [];
    const pacing = pacedBy(() => fastEvents, 3, 60);
    const sent = await send();
    const id = sent.assistantMessage.id;
    const slow = server.app.services.chat.stream(DEFAULT_USER_ID, parseGlobalId(id, 'Message'), 0);
    const firstTwo = Promise.all([slow.next(), slow.next()]);

    const client = wsClient(server.wsUrl);
    try {
      const fast = collect(client, STREAM, { id }, 'messageStream');
      fastEvents = fast.events;
      // Both readers are attached while nothing has left the buffer; then the rest flows at once.
      await until(() => wordsIn(fast.events) === 3, 'the fast reader to hold the first three tokens');
      expect((await firstTwo).map((r) => (r.value as MessageStreamEvent).kind)).toEqual(['delta', 'delta']);
      pacing.release();

      const done = await fast.done;
      expect(shape(done)).toMatchObject({ text: words(60), terminal: ['MessageCompleted'] });
      const row = await server.app.database.prisma.message.findUniqueOrThrow({ where: { id: rawId(id) } });
      expect(row.status).toBe('COMPLETE');

      const lagged = await slow.next().then(
        () => undefined,
        (error) => error,
      );
      expect(AppError.isInstance(lagged)).toBe(true);
      expect(lagged).toMatchObject({ code: 'STREAM_LAGGED' });
      expect((lagged as AppError).details?.resumeAfterSeq).toBeGreaterThan(2);
    } finally {
      await client.dispose();
    }
  });

  it('a subscriber attaching too far behind gets STREAM_LAGGED with where to resume, and resuming works', async () => {
    openai.setReply(words(80));
    let watched: StreamEventResult[] = [];
    const pacing = pacedBy(() => watched, 40, 80);
    const client = wsClient(server.wsUrl);
    try {
      const id = (await send()).assistantMessage.id;
      const watcher = collect(client, STREAM, { id }, 'messageStream');
      watched = watcher.events;
      // 40 deltas out, the stream held: the buffer keeps the last 10.
      await until(() => wordsIn(watcher.events) === 40, 'the watcher to hold 40 tokens');
      expect(shape(watcher.events).seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));

      const late = collect(client, STREAM, { id, after: 0 }, 'messageStream');
      const error = (await late.done.then(
        () => [],
        (errors) => errors,
      )) as { message: string; extensions: { code: string; resumeAfterSeq: number } }[];
      expect(error[0]?.extensions.code).toBe('STREAM_LAGGED');
      const resumeAfter = error[0]?.extensions.resumeAfterSeq as number;
      expect(resumeAfter).toBe(30);

      // Resuming where the error says replays what the buffer holds, then follows live.
      const resumed = collect(client, STREAM, { id, after: resumeAfter }, 'messageStream');
      await until(() => resumed.events.length === 10, 'the resumed reader to replay seqs 31-40');
      pacing.release();
      const tail = shape(await resumed.done);
      expect(tail.seqs).toEqual(Array.from({ length: 80 - 30 }, (_, i) => i + 31));
      expect(tail.terminal).toEqual(['MessageCompleted']);
      expect(shape(await watcher.done).terminal).toEqual(['MessageCompleted']);
    } finally {
      await client.dispose();
    }
  });
});

describe('context window', () => {
  let server: TestServer;
  let ollama: FakeServer;
  beforeAll(async () => {
    ollama = await startOllamaFake({ models: [{ id: 'tiny', contextWindow: 120 }] });
    server = await startTestServer({ OLLAMA_HOST: ollama.url });
    await server.app.providers.monitor.probeAll();
  });
  afterAll(async () => {
    await server?.close();
    await ollama?.close();
  });

  it('drops the oldest turns to fit a tiny window, records the count, and rejects a message that cannot fit', async () => {
    const client = wsClient(server.wsUrl);
    try {
      let conversationId: string | undefined;
      for (let turn = 0; turn < 4; turn++) {
        const result = await server.query<Sent>(SEND, {
          input: {
            conversationId,
            content: `turn ${turn}: ${words(6, `t${turn}x`)}`,
            model: 'ollama/tiny',
            maxTokens: 20,
          },
        });
        expect(result.errors).toBeUndefined();
        const sent = result.data?.sendMessage as Sent['sendMessage'];
        conversationId = sent.conversation.id;
        await collect(client, STREAM, { id: sent.assistantMessage.id }, 'messageStream').done;
      }
      const chats = ollama.requests.filter((r) => r.path === '/api/chat');
      const last = chats.at(-1)?.body as { messages: { role: string; content: string }[] };
      expect(last.messages.at(-1)?.content).toMatch(/^turn 3:/);
      expect(last.messages.some((m) => m.content.startsWith('turn 0:'))).toBe(false);
      expect(last.messages.length).toBeLessThan(7);
      const first = chats[0]?.body as { messages: unknown[] };
      expect(first.messages).toHaveLength(1);
      const rows = await server.app.database.prisma.message.findMany({
        where: { role: 'ASSISTANT' },
        select: { contextTokens: true },
      });
      for (const row of rows) expect(row.contextTokens).toBeLessThanOrEqual(120 - 20);

      const before = await server.app.database.prisma.message.count();
      const oversized = await server.query(SEND, {
        input: { content: words(200), model: 'ollama/tiny', maxTokens: 20 },
      });
      expect(oversized.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(oversized.errors?.[0]?.message).toMatch(/tiny takes 120/);
      expect(await server.app.database.prisma.message.count()).toBe(before);
    } finally {
      await client.dispose();
    }
  });
});

describe('crash recovery on the embedded database', () => {
  // Two process starts: on a loaded machine each took 40 s or more.
  it('after kill -9 the restarted instance marks the cut-off message FAILED with code INTERRUPTED', {
    timeout: 240_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-crash-'));
    const file = writeConfigFile({ chat: { flushIntervalMs: 50 } });
    const env = { DATA_DIR: dataDir, PORT: '0', MOCK_TOKEN_DELAY_MS: '100', SWITCHYARD_CONFIG: file.path };
    try {
      const first = spawnServer(env);
      const url = await first.url;
      const sendResponse = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // 300 tokens 100 ms apart: still streaming when it is killed, however slow the machine.
        body: JSON.stringify({ query: SEND, variables: { input: { content: words(300) } } }),
      });
      const sent = ((await sendResponse.json()) as { data: Sent }).data.sendMessage;
      const client = wsClient(url.replace(/^http/, 'ws'));
      await collect(client, STREAM, { id: sent.assistantMessage.id }, 'messageStream').waitFor(5);
      // Killed once the partial text is stored (flushed every 50 ms), not after a guessed pause.
      await eventually(
        async () => {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              query: 'query ($id: ID!) { message(id: $id) { status content } }',
              variables: { id: sent.assistantMessage.id },
            }),
          });
          return ((await response.json()) as { data: { message: { status: string; content: string } } }).data.message;
        },
        (message) => message.status === 'STREAMING' && message.content.startsWith('Mock reply to:'),
        { what: 'the partial text stored while the message is still STREAMING' },
      );
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      await client.dispose();

      const second = spawnServer(env);
      const secondUrl = await second.url;
      try {
        const response = await fetch(secondUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: 'query ($id: ID!) { message(id: $id) { status error content } }',
            variables: { id: sent.assistantMessage.id },
          }),
        });
        const { data } = (await response.json()) as {
          data: { message: { status: string; error: string; content: string } };
        };
        expect(data.message.status).toBe('FAILED');
        expect(data.message.error).toMatch(/stopped before it finished/);
        expect(data.message.content.startsWith('Mock reply to:')).toBe(true);
        const stream = wsClient(secondUrl.replace(/^http/, 'ws'));
        const events = await collect(stream, STREAM, { id: sent.assistantMessage.id }, 'messageStream').done;
        await stream.dispose();
        expect(events).toMatchObject([{ __typename: 'MessageFailed', code: 'INTERRUPTED' }]);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      file.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
