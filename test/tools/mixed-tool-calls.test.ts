/**
 * One model step that asks for a builtin tool and a client tool at once: the gateway runs its own
 * call (over the viewer's documents), the stream ends REQUIRES_ACTION with only the client's call,
 * and after submitToolResults every call of that step has its result in the history the model
 * gets, as OpenAI and Anthropic require (the turn after that too).
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type FakeChatInput, type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { collect } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const EVENT = `__typename
  ... on MessageCompleted { message { id status content citations { document { title } } } }
  ... on MessageFailed { code error message { id status content } }
  ... on MessageToolCalls { message { id status toolCalls { id name } } toolCalls { id name arguments } }`;
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) { ${EVENT} } }`;
const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) { ${EVENT} } }`;
const SUBMIT = `mutation ($id: ID!, $results: [ToolResultInput!]!) {
  submitToolResults(messageId: $id, results: $results) { userMessage { id status } assistantMessage { id status } } }`;
const INGEST = `mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }`;

interface Event {
  __typename: string;
  code?: string;
  error?: string;
  message?: {
    id: string;
    status: string;
    content: string;
    citations?: { document: { title: string } }[];
    toolCalls?: { id: string; name: string }[];
  };
  toolCalls?: { id: string; name: string; arguments: unknown }[];
}

const WEATHER = {
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** Both calls in one step until results come back; then an answer naming each result. */
const mixedScript = (input: FakeChatInput) => {
  const results = input.messages.filter((m) => m.role === 'tool');
  if (results.length === 0) {
    return {
      text: 'Let me look.',
      toolCalls: [
        { id: 'call_s1', name: 'search_documents', arguments: { query: 'lighthouse keeper' } },
        { id: 'call_w1', name: 'get_weather', arguments: { city: 'Oslo' } },
      ],
    };
  }
  const search = results.find((r) => r.toolCallId === 'call_s1')?.content ?? '';
  const weather = results.find((r) => r.toolCallId === 'call_w1')?.content ?? '';
  return `Keeper: ${search.includes('Ingrid Holm') ? 'Ingrid Holm [1]' : 'unknown'}; weather: ${weather}.`;
};

/** Every call id of an assistant message is answered by a tool message after it, and no result is orphaned. */
function expectCompleteHistory(messages: FakeChatInput['messages']) {
  const open = new Set<string>();
  for (const message of messages) {
    if (message.role === 'tool') {
      expect(open.has(message.toolCallId ?? ''), `result ${message.toolCallId} answers a call`).toBe(true);
      open.delete(message.toolCallId ?? '');
    } else {
      expect([...open], 'calls left without a result').toEqual([]);
      for (const call of message.toolCalls ?? []) open.add(call.id);
    }
  }
  expect([...open], 'calls left without a result').toEqual([]);
}

describe('a step that mixes builtin and client tool calls', () => {
  let server: TestServer;
  let openai: FakeServer;
  let anthropic: FakeServer;
  let alice: string;
  const seen: FakeChatInput[] = [];

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
    server = await startTestServer(fakeProviderEnv({ openai, anthropic }));
    alice = (await keyCaller(server.app.database.prisma, 'alice-mixed')).authorization;
    const script = (input: FakeChatInput) => {
      seen.push(input);
      return mixedScript(input);
    };
    openai.setReply(script);
    anthropic.setReply(script);
    const ingested = await post(INGEST, { input: { title: 'Mine', content: 'The lighthouse keeper is Ingrid Holm.' } });
    expect(ingested.errors).toBeUndefined();
    const db = server.app.database.prisma;
    await eventually(
      () => db.document.count({ where: { status: 'READY' } }),
      (ready) => ready >= 1,
      { what: 'the document READY' },
    );
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  async function post(query: string, variables: Record<string, unknown>) {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: alice },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as {
      data?: Record<string, { userMessage: { id: string; status: string }; assistantMessage: { id: string } }>;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
  }
  async function run(query: string, variables: Record<string, unknown>, field: string) {
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: alice },
    });
    try {
      return await collect<Event>(client, query, variables, field).done;
    } finally {
      await client.dispose();
    }
  }
  const dbId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;

  for (const model of ['gpt-4o-mini', 'claude-haiku-4-5']) {
    it(`runs the builtin call, asks the client for its own only, and continues with every call answered (${model})`, async () => {
      seen.length = 0;
      const input = {
        content: 'Who keeps the lighthouse, and the weather in Oslo?',
        model,
        tools: [WEATHER],
        builtinTools: ['SEARCH_DOCUMENTS'],
      };
      const end = (await run(CHAT, { input }, 'chat')).at(-1) as Event;
      expect(end.__typename).toBe('MessageToolCalls');
      expect(end.toolCalls).toEqual([{ id: 'call_w1', name: 'get_weather', arguments: { city: 'Oslo' } }]);
      expect(end.message).toMatchObject({ status: 'REQUIRES_ACTION', toolCalls: [{ id: 'call_w1' }] });
      expect(seen).toHaveLength(1);

      // Stored: both calls, the builtin one answered by the gateway already.
      const messageId = end.message?.id as string;
      const row = await server.app.database.prisma.message.findUniqueOrThrow({ where: { id: dbId(messageId) } });
      expect((row.toolCalls as { id: string }[]).map((c) => c.id)).toEqual(['call_s1', 'call_w1']);
      expect(row.toolResults).toMatchObject([
        { toolCallId: 'call_s1', content: expect.stringContaining('Ingrid Holm') },
      ]);

      // The builtin call is not the client's to answer.
      const wrong = await post(SUBMIT, {
        id: messageId,
        results: [
          { toolCallId: 'call_s1', content: 'made up' },
          { toolCallId: 'call_w1', content: '12 °C' },
        ],
      });
      expect(wrong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

      const submitted = await post(SUBMIT, { id: messageId, results: [{ toolCallId: 'call_w1', content: '12 °C' }] });
      expect(submitted.errors).toBeUndefined();
      const next = submitted.data?.submitToolResults?.assistantMessage.id as string;
      const done = (await run(STREAM, { id: next }, 'messageStream')).at(-1) as Event;
      expect(done).toMatchObject({
        __typename: 'MessageCompleted',
        message: { content: 'Keeper: Ingrid Holm [1]; weather: 12 °C.' },
      });
      const continued = seen.at(-1) as FakeChatInput;
      expectCompleteHistory(continued.messages);
      const asked = continued.messages.find((m) => (m.toolCalls?.length ?? 0) > 0);
      expect(asked?.toolCalls?.map((c) => c.id)).toEqual(['call_s1', 'call_w1']);
      expect(continued.messages.filter((m) => m.role === 'tool').map((m) => m.toolCallId)).toEqual([
        'call_s1',
        'call_w1',
      ]);

      // The next turn in the conversation gets the same complete history.
      const conversation = await server.app.database.prisma.message.findUniqueOrThrow({ where: { id: row.id } });
      seen.length = 0;
      const after = (
        await run(
          CHAT,
          {
            input: {
              content: 'Thanks!',
              model,
              conversationId: Buffer.from(`Conversation:${conversation.conversationId}`).toString('base64url'),
            },
          },
          'chat',
        )
      ).at(-1) as Event;
      expect(after.__typename).toBe('MessageCompleted');
      expect(seen).toHaveLength(1);
      expectCompleteHistory((seen[0] as FakeChatInput).messages);
      expect((seen[0] as FakeChatInput).messages.filter((m) => m.role === 'tool')).toHaveLength(2);
    });
  }

  it('leaves a step’s unanswered client call out of a later turn’s history, keeping the answered builtin one consistent', async () => {
    seen.length = 0;
    const input = {
      content: 'Keeper and weather?',
      model: 'gpt-4o-mini',
      tools: [WEATHER],
      builtinTools: ['SEARCH_DOCUMENTS'],
    };
    const end = (await run(CHAT, { input }, 'chat')).at(-1) as Event;
    expect(end.__typename).toBe('MessageToolCalls');
    const row = await server.app.database.prisma.message.findUniqueOrThrow({
      where: { id: dbId(end.message?.id as string) },
    });
    seen.length = 0;
    // The client never answers; the user writes again in the same conversation.
    const next = (
      await run(
        CHAT,
        {
          input: {
            content: 'Never mind.',
            model: 'gpt-4o-mini',
            conversationId: Buffer.from(`Conversation:${row.conversationId}`).toString('base64url'),
          },
        },
        'chat',
      )
    ).at(-1) as Event;
    expect(next.__typename).toBe('MessageCompleted');
    const history = (seen[0] as FakeChatInput).messages;
    expectCompleteHistory(history);
    // The gateway's answered call stays (with its result); the client's unanswered one is left out.
    expect(history.flatMap((m) => m.toolCalls ?? []).map((c) => c.id)).toEqual(['call_s1']);
    expect(history.filter((m) => m.role === 'tool').map((m) => m.toolCallId)).toEqual(['call_s1']);
  });
});
