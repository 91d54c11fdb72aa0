import { fetchExchange, gql, subscriptionExchange, Client as UrqlClient } from '@urql/core';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_ID } from '../src/db/default-user.js';
import { encodeGlobalId } from '../src/schema/global-id.js';
import { type FakeServer, startOpenAIFake } from './fakes/index.js';
import { writeConfigFile } from './helpers/config-file.js';
import { until } from './helpers/eventually.js';
import { createScratchDatabase, holdInserts, postgresUrl, redisUrl } from './helpers/postgres.js';
import { seedConversation, seedOtherUser } from './helpers/seed.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, shape, wsClient } from './helpers/subscribe.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const CHAT = `subscription Chat($input: SendMessageInput!) { chat(input: $input) { ${STREAM_EVENT_FIELDS} } }`;
const STREAM = `subscription Stream($id: ID!, $after: Int) { messageStream(messageId: $id, afterSeq: $after) { ${STREAM_EVENT_FIELDS} } }`;
const SEND = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    conversation { id title model systemPrompt }
    userMessage { id role content status }
    assistantMessage { id role status content }
  }
}`;

interface SendResult {
  sendMessage: {
    conversation: { id: string; title: string; model: string; systemPrompt: string | null };
    userMessage: { id: string; role: string; content: string; status: string };
    assistantMessage: { id: string; role: string; status: string; content: string };
  };
}

const mockText = (content: string) => `Mock reply to: ${content}`;
/** A fake's gate that never opens: the stream stays silent until the client goes away. */
const never = new Promise<void>(() => {});
const wordCount = (text: string) => text.split(' ').length;

const backends = [
  { name: 'the embedded default', skip: false, shared: false },
  { name: 'Postgres and Redis', skip: !postgresUrl || !redisUrl, shared: true },
];

describe('chat on default settings: tokens joined within the delta window', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ DEFAULT_MODEL: 'mock-echo', MOCK_TOKEN_DELAY_MS: '5' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends the first token alone at once, then joins tokens arriving within 40 ms into numbered deltas', async () => {
    const client = wsClient(server.wsUrl);
    try {
      const content = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ');
      const events = await collect(client, CHAT, { input: { content } }, 'chat').done;
      const { seqs, text, terminal } = shape(events);
      expect(text).toBe(mockText(content));
      expect(terminal).toEqual(['MessageCompleted']);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      // 23 tokens 5 ms apart: joined, yet still streamed (not one delta at the end).
      expect(seqs.length).toBeGreaterThan(1);
      expect(seqs.length).toBeLessThan(wordCount(mockText(content)));
      expect(events[0]).toMatchObject({ __typename: 'MessageDelta', seq: 1, text: 'Mock' });
      const completed = events.at(-1) as StreamEventResult;
      const replay = await collect(client, STREAM, { id: completed.message?.id, after: 1 }, 'messageStream').done;
      expect(replay).toHaveLength(1);
      expect(replay[0]).toMatchObject({ message: { content: mockText(content) } });
    } finally {
      await client.dispose();
    }
  });
});

for (const backend of backends)
  describe.skipIf(backend.skip)(`chat over GraphQL on ${backend.name}`, () => {
    let server: TestServer;
    let openai: FakeServer;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    // One delta per mock token (no joining window), so these tests can count deltas in words.
    const file = writeConfigFile({ chat: { deltaWindowMs: 0 } });

    beforeAll(async () => {
      openai = await startOpenAIFake();
      scratch = backend.shared ? await createScratchDatabase(postgresUrl as string) : undefined;
      server = await startTestServer({
        ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl } : {}),
        SWITCHYARD_CONFIG: file.path,
        DEFAULT_MODEL: 'mock-echo',
        MOCK_TOKEN_DELAY_MS: '5',
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: openai.baseURL,
      });
    });
    afterAll(async () => {
      await server?.close();
      await openai?.close();
      await scratch?.drop();
      file.cleanup();
    });

    const send = async (input: Record<string, unknown>) => {
      const result = await server.query<SendResult>(SEND, { input });
      expect(result.errors).toBeUndefined();
      return (result.data as SendResult).sendMessage;
    };
    const dbId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;
    const messageRow = (globalId: string) =>
      server.app.database.prisma.message.findUniqueOrThrow({ where: { id: dbId(globalId) } });

    it('streams a chat over graphql-ws: ordered deltas, one terminal event, the message stored COMPLETE', async () => {
      const client = wsClient(server.wsUrl);
      try {
        const content = 'hello there, how are you today?';
        const events = await collect(client, CHAT, { input: { content } }, 'chat').done;
        const expected = mockText(content);
        expect(shape(events)).toEqual({
          seqs: Array.from({ length: wordCount(expected) }, (_, i) => i + 1),
          text: expected,
          terminal: ['MessageCompleted'],
        });
        const completed = events.at(-1) as StreamEventResult;
        expect(completed.message).toMatchObject({
          status: 'COMPLETE',
          content: expected,
          provider: 'mock',
          model: 'mock-echo',
        });
        expect(completed.message?.ttftMs).toBeGreaterThan(0);
        expect(completed.message?.latencyMs).toBeGreaterThanOrEqual(completed.message?.ttftMs as number);
        const tokens = completed.message?.usage as { completionTokens: number; totalTokens: number } | undefined;
        expect(tokens?.completionTokens).toBeGreaterThan(0);
        expect(tokens?.totalTokens).toBeGreaterThan(tokens?.completionTokens ?? 0);
        const row = await messageRow(completed.message?.id as string);
        expect(row).toMatchObject({
          status: 'COMPLETE',
          content: expected,
          lastSeq: wordCount(expected),
          ownerId: null,
        });
        expect(row.contextTokens).toBeGreaterThan(0);
        const usage = await server.app.database.prisma.usageEvent.findMany({ where: { messageId: row.id } });
        expect(usage).toMatchObject([{ provider: 'mock', model: 'mock-echo', userId: DEFAULT_USER_ID }]);
        // The terminal event's message is the stored row, relations included, as a query reads it later.
        const MESSAGE_FIELDS = `id status content provider model ttftMs latencyMs createdAt error
          usage { promptTokens completionTokens totalTokens } conversation { id title } citations { score }`;
        const terminal = await collect<{ message?: { id: string } }>(
          client,
          `subscription Chat($input: SendMessageInput!) { chat(input: $input) { ... on MessageCompleted { message { ${MESSAGE_FIELDS} } } } }`,
          { input: { content: 'and once more' } },
          'chat',
        ).done;
        const streamed = terminal.at(-1)?.message as { id: string };
        expect(streamed.id).toBeTruthy();
        const queried = await server.query<{ node: unknown }>(
          `query($id: ID!) { node(id: $id) { ... on Message { ${MESSAGE_FIELDS} } } }`,
          {
            id: streamed.id,
          },
        );
        expect(queried.data?.node).toEqual(streamed);
      } finally {
        await client.dispose();
      }
    });

    it('streams over SSE', async () => {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: CHAT, variables: { input: { content: 'sse please' } } }),
      });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const body = await response.text();
      const events = body
        .split('\n\n')
        .filter((block) => block.startsWith('event: next'))
        .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)).data.chat as StreamEventResult);
      expect(shape(events)).toMatchObject({ text: mockText('sse please'), terminal: ['MessageCompleted'] });
      expect(body.trimEnd().endsWith('event: complete\ndata:')).toBe(true);
    });

    it('streams through urql the way a web app subscribes', async () => {
      const ws = wsClient(server.wsUrl);
      const urql = new UrqlClient({
        url: server.url,
        exchanges: [
          fetchExchange,
          subscriptionExchange({
            forwardSubscription: (request) => ({
              subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
            }),
          }),
        ],
      });
      try {
        const events = await new Promise<StreamEventResult[]>((resolve, reject) => {
          const seen: StreamEventResult[] = [];
          urql.subscription(gql(CHAT), { input: { content: 'from urql' } }).subscribe((result) => {
            if (result.error) return reject(result.error);
            seen.push(result.data.chat);
            if (result.data.chat.__typename !== 'MessageDelta') resolve(seen);
          });
        });
        expect(shape(events)).toMatchObject({ text: mockText('from urql'), terminal: ['MessageCompleted'] });
      } finally {
        await ws.dispose();
      }
    });

    it('sendMessage returns at once; messageStream replays from afterSeq mid-stream and after the end', async () => {
      const content = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
      const sent = await send({ content, systemPrompt: 'Be brief.' });
      expect(sent.assistantMessage).toMatchObject({ role: 'ASSISTANT', status: 'STREAMING' });
      expect(sent.userMessage).toMatchObject({ role: 'USER', content, status: 'COMPLETE' });
      expect(sent.conversation).toMatchObject({
        title: 'word0 word1 word2 word3 word4 word5 word6 word7 word8 word9…',
      });
      expect(sent.conversation.systemPrompt).toBe('Be brief.');
      const expected = mockText(content);
      const total = wordCount(expected);

      const client = wsClient(server.wsUrl);
      try {
        const first = collect(client, STREAM, { id: sent.assistantMessage.id }, 'messageStream');
        await first.waitFor(5);
        const resumed = collect(client, STREAM, { id: sent.assistantMessage.id, after: 5 }, 'messageStream');
        const [all, tail] = await Promise.all([first.done, resumed.done]);
        expect(shape(all)).toEqual({
          seqs: Array.from({ length: total }, (_, i) => i + 1),
          text: expected,
          terminal: ['MessageCompleted'],
        });
        expect(shape(tail).seqs).toEqual(Array.from({ length: total - 5 }, (_, i) => i + 6));
        expect(shape(tail).terminal).toEqual(['MessageCompleted']);

        const after = await collect(client, STREAM, { id: sent.assistantMessage.id, after: 3 }, 'messageStream').done;
        expect(after).toHaveLength(1);
        expect(after[0]).toMatchObject({
          __typename: 'MessageCompleted',
          message: { status: 'COMPLETE', content: expected },
        });
      } finally {
        await client.dispose();
      }
    });

    it('keeps the conversation: the second turn sees the first, and the model is remembered', async () => {
      const first = await send({ content: 'first question', model: 'mock/mock-echo' });
      const client = wsClient(server.wsUrl);
      try {
        await collect(client, STREAM, { id: first.assistantMessage.id }, 'messageStream').done;
        const second = await send({ conversationId: first.conversation.id, content: 'second question' });
        expect(second.conversation).toMatchObject({ id: first.conversation.id, model: 'mock/mock-echo' });
        await collect(client, STREAM, { id: second.assistantMessage.id }, 'messageStream').done;
        const result = await server.query<{
          conversation: { messages: { edges: { node: { role: string; content: string } }[] } };
        }>('query ($id: ID!) { conversation(id: $id) { messages { edges { node { role content } } } } }', {
          id: first.conversation.id,
        });
        expect(result.data?.conversation.messages.edges.map((e) => [e.node.role, e.node.content])).toEqual([
          ['USER', 'first question'],
          ['ASSISTANT', mockText('first question')],
          ['USER', 'second question'],
          ['ASSISTANT', mockText('second question')],
        ]);
      } finally {
        await client.dispose();
      }
    });

    it('cancelMessage aborts the upstream request and keeps the partial text as CANCELLED', async () => {
      // The upstream sends three tokens, then nothing until the request is aborted: only the
      // cancel can end this message (a broken cancel would end FAILED at the idle timeout).
      openai.faults.always({ path: '/v1/chat/completions', gate: (index) => (index > 3 ? never : undefined) });
      try {
        const client = wsClient(server.wsUrl);
        try {
          const sent = await send({
            content: 'one two three four five six seven eight nine ten',
            provider: 'openai',
            model: 'gpt-4o-mini',
          });
          const stream = collect(client, STREAM, { id: sent.assistantMessage.id }, 'messageStream');
          await until(() => shape(stream.events).text === 'echo: one two', 'the three tokens before the stall');
          const cancelled = await server.query<{ cancelMessage: { status: string; content: string; error: string } }>(
            'mutation ($id: ID!) { cancelMessage(id: $id) { status content error } }',
            { id: sent.assistantMessage.id },
          );
          expect(cancelled.data?.cancelMessage.status).toBe('CANCELLED');
          const events = await stream.done;
          const streamed = shape(events);
          expect(streamed.terminal).toEqual(['MessageFailed']);
          expect(events.at(-1)).toMatchObject({ code: 'CANCELLED', message: { status: 'CANCELLED' } });
          expect(cancelled.data?.cancelMessage.content).toBe(streamed.text);
          expect(streamed.text.length).toBeGreaterThan(0);
          expect(streamed.text).not.toBe('echo: one two three four five six seven eight nine ten');
          const upstream = openai.requests.filter((r) => r.path === '/v1/chat/completions').at(-1);
          expect(await openai.settled(upstream as never)).toBe('aborted');
        } finally {
          await client.dispose();
        }
      } finally {
        openai.faults.clear();
      }
    });

    it('a client that disconnects does not stop its generation', async () => {
      // The upstream holds after two tokens until a second reader is attached, so the generation
      // is surely still running when the first client leaves, however slow the machine.
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      openai.faults.always({ path: '/v1/chat/completions', gate: (index) => (index > 2 ? released : undefined) });
      const reader = wsClient(server.wsUrl);
      try {
        const client = wsClient(server.wsUrl);
        const content = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
        const stream = collect(client, CHAT, { input: { content, provider: 'openai' } }, 'chat');
        const [delta] = await stream.waitFor(1);
        await client.dispose();
        const id = (delta as StreamEventResult).messageId as string;
        const rest = collect(reader, STREAM, { id, after: 0 }, 'messageStream');
        await until(() => rest.events.length > 0, 'the second reader to replay the first tokens');
        release();
        expect(shape(await rest.done)).toMatchObject({ text: `echo: ${content}`, terminal: ['MessageCompleted'] });
      } finally {
        openai.faults.clear();
        await reader.dispose();
      }
    });

    // On Postgres another session can hold the turn's rows back while the first tokens go out.
    it.skipIf(!backend.shared)(
      'the id on the first delta works for messageStream and cancelMessage before its rows are written',
      async () => {
        openai.faults.always({ path: '/v1/chat/completions', gate: (index) => (index > 2 ? never : undefined) });
        const hold = await holdInserts(scratch?.url as string, 'conversations');
        const client = wsClient(server.wsUrl);
        const reader = wsClient(server.wsUrl);
        try {
          const input = { content: 'one two three four', provider: 'openai' };
          const stream = collect(client, CHAT, { input }, 'chat');
          const [delta] = await stream.waitFor(1);
          const id = (delta as StreamEventResult).messageId as string;
          expect(await server.app.database.prisma.message.count({ where: { id: dbId(id) } })).toBe(0);
          const followed = collect(reader, STREAM, { id, after: 0 }, 'messageStream');
          const cancelled = server.query<{ cancelMessage: { status: string; content: string } }>(
            'mutation ($id: ID!) { cancelMessage(id: $id) { status content } }',
            { id },
          );
          // Both arrive while the rows wait; released once the server had every chance to refuse them.
          await server.query('{ __typename }');
          await hold.release();
          const answer = await cancelled;
          expect(answer.errors).toBeUndefined();
          expect(answer.data?.cancelMessage).toMatchObject({
            status: 'CANCELLED',
            content: expect.stringMatching(/^echo: /),
          });
          // The reader replays the deltas, or only the end when the cancel finished first.
          const replayed = await followed.done;
          expect(shape(replayed).terminal).toEqual(['MessageFailed']);
          expect(replayed.at(-1)).toMatchObject({
            code: 'CANCELLED',
            message: { status: 'CANCELLED', content: answer.data?.cancelMessage.content },
          });
          expect(shape(await stream.done).terminal).toEqual(['MessageFailed']);
        } finally {
          openai.faults.clear();
          await hold.release().catch(() => {});
          await Promise.all([client.dispose(), reader.dispose()]);
        }
      },
    );

    it('a failure before the first token ends FAILED with the provider error; a cut stream keeps its partial text', async () => {
      const client = wsClient(server.wsUrl);
      try {
        openai.faults.next({ status: 401, message: 'bad key' });
        const failed = await collect(client, CHAT, { input: { content: 'hi', provider: 'openai' } }, 'chat').done;
        expect(failed).toHaveLength(1);
        expect(failed[0]).toMatchObject({
          __typename: 'MessageFailed',
          code: 'UPSTREAM_ERROR',
          message: { status: 'FAILED', content: '' },
        });

        openai.faults.next({ cutAfterChunks: 3 });
        const cut = await collect(client, CHAT, { input: { content: 'a b c d e f g h', provider: 'openai' } }, 'chat')
          .done;
        const streamed = shape(cut);
        expect(streamed.terminal).toEqual(['MessageFailed']);
        expect(streamed.text.length).toBeGreaterThan(0);
        expect(cut.at(-1)).toMatchObject({ message: { status: 'FAILED', content: streamed.text, provider: 'openai' } });
      } finally {
        openai.faults.clear();
        await client.dispose();
      }
    });

    it.each([
      ['empty content', { content: '   ' }, 'BAD_USER_INPUT', /content must not be empty/],
      ['oversized content', { content: 'x'.repeat(100_001) }, 'BAD_USER_INPUT', /at most 100000/],
      [
        'temperature outside the provider range',
        { content: 'hi', model: 'claude-haiku-4-5', provider: 'mock', temperature: 3 },
        'BAD_USER_INPUT',
        /temperature 3 is outside mock's range 0\.\.2/,
      ],
      ['maxTokens <= 0', { content: 'hi', maxTokens: 0 }, 'BAD_USER_INPUT', /maxTokens must be a positive number/],
      ['an unknown provider', { content: 'hi', provider: 'cohere' }, 'BAD_USER_INPUT', /cohere/],
      [
        'a conversation id that is not a conversation',
        { content: 'hi', conversationId: 'nope' },
        'BAD_USER_INPUT',
        /not a valid ID/,
      ],
    ])('rejects %s with a clear error and writes nothing', async (_label, input, code, message) => {
      const before = await server.app.database.prisma.message.count();
      const result = await server.query(SEND, { input });
      expect(result.errors?.[0]?.extensions?.code).toBe(code);
      expect(result.errors?.[0]?.message).toMatch(message);
      expect(await server.app.database.prisma.message.count()).toBe(before);
    });

    it("another user's conversation and message are NOT_FOUND", async () => {
      const db = server.app.database.prisma;
      const other = await seedOtherUser(db);
      const theirs = await seedConversation(db, { title: 'theirs', turns: 1, userId: other.id });
      const message = await db.message.findFirstOrThrow({ where: { conversationId: theirs.id } });
      const send = await server.query(SEND, {
        input: { content: 'hi', conversationId: encodeGlobalId('Conversation', theirs.id) },
      });
      expect(send.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const cancel = await server.query('mutation ($id: ID!) { cancelMessage(id: $id) { id } }', {
        id: encodeGlobalId('Message', message.id),
      });
      expect(cancel.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const del = await server.query('mutation ($id: ID!) { deleteConversation(id: $id) }', {
        id: encodeGlobalId('Conversation', theirs.id),
      });
      expect(del.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(await db.conversation.count({ where: { id: theirs.id } })).toBe(1);
    });

    it('deleteConversation removes it with its messages', async () => {
      const sent = await send({ content: 'to be deleted' });
      const client = wsClient(server.wsUrl);
      try {
        await collect(client, STREAM, { id: sent.assistantMessage.id }, 'messageStream').done;
      } finally {
        await client.dispose();
      }
      const deleted = await server.query<{ deleteConversation: string }>(
        'mutation ($id: ID!) { deleteConversation(id: $id) }',
        {
          id: sent.conversation.id,
        },
      );
      expect(deleted.data?.deleteConversation).toBe(sent.conversation.id);
      const after = await server.query(
        'query ($id: ID!) { conversation(id: $id) { id } message: node(id: $id) { id } }',
        {
          id: sent.conversation.id,
        },
      );
      expect(after.data).toEqual({ conversation: null, message: null });
      const gone = await server.query('query ($id: ID!) { message(id: $id) { id } }', { id: sent.assistantMessage.id });
      expect(gone.data).toEqual({ message: null });
    });

    it('runs 200 concurrent chats with no error, every message COMPLETE', async () => {
      // Four sockets of 50: one socket may run at most 100 operations at once.
      const clients = Array.from({ length: 4 }, () => wsClient(server.wsUrl));
      try {
        const runs = await Promise.all(
          Array.from(
            { length: 200 },
            (_, i) => collect(clients[i % 4] as Client, CHAT, { input: { content: `chat number ${i}` } }, 'chat').done,
          ),
        );
        runs.forEach((events, i) => {
          expect(shape(events)).toMatchObject({ text: mockText(`chat number ${i}`), terminal: ['MessageCompleted'] });
        });
        const ids = runs.map((events) => (events.at(-1) as StreamEventResult).message?.id as string);
        const rows = await Promise.all(ids.map(messageRow));
        expect(rows.every((r) => r.status === 'COMPLETE')).toBe(true);
      } finally {
        await Promise.all(clients.map((client) => client.dispose()));
      }
    });
  });
