import { fetchExchange, gql, subscriptionExchange, Client as UrqlClient } from '@urql/core';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { insertApiKey, userNamed } from '../../src/policy/api-keys.js';
import { type FakeChatInput, type FakeServer, startOpenAIFake } from '../fakes/index.js';
import { keyCaller } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { createScratchDatabase, postgresUrl } from '../helpers/postgres.js';
import { collect } from '../helpers/subscribe.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const EVENT = `__typename
  ... on MessageDelta { seq text }
  ... on MessageCompleted { message { id status content citations { document { title } } } }
  ... on MessageFailed { code error message { id status content } }
  ... on MessageToolCalls { message { id status } toolCalls { id name arguments } }`;
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) { ${EVENT} } }`;
const STREAM = `subscription ($id: ID!) { messageStream(messageId: $id) { ${EVENT} } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { conversation { id } assistantMessage { id } } }`;
const SUBMIT = `mutation ($id: ID!, $results: [ToolResultInput!]!) {
  submitToolResults(messageId: $id, results: $results) { userMessage { id status } assistantMessage { id status } } }`;

interface Event {
  __typename: string;
  text?: string;
  code?: string;
  message?: { id: string; status: string; content: string; citations?: { document: { title: string } }[] };
  toolCalls?: { id: string; name: string; arguments: unknown }[];
}

interface Payload {
  userMessage: { id: string; status: string };
  assistantMessage: { id: string; status: string };
}

const WEATHER = {
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** The fake calls get_weather until it sees a tool result, then answers with that result. */
const weatherScript = (input: FakeChatInput) => {
  const result = input.messages.find((m) => m.role === 'tool');
  if (result) return `It is ${result.content} there.`;
  return { toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: { city: 'Oslo' } }] };
};

const redisUrl = process.env.REDIS_URL;
/** The tool turn's end event crosses Redis as its own codec shape: checked there too. */
const backends = [
  { name: 'embedded PGlite', skip: false, services: false },
  { name: 'Postgres and Redis', skip: !postgresUrl || !redisUrl, services: true },
];

for (const backend of backends)
  describe.skipIf(backend.skip)(
    `GraphQL tools, submitToolResults, builtin tools and structured output (OpenAI fake) on ${backend.name}`,
    () => {
      let server: TestServer;
      let openai: FakeServer;
      let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
      /** The viewer; every request is made with its key (another user's key is made below). */
      let alice: string;

      beforeAll(async () => {
        openai = await startOpenAIFake();
        scratch = backend.services && postgresUrl ? await createScratchDatabase(postgresUrl) : undefined;
        server = await startTestServer({
          OPENAI_API_KEY: 'sk-test',
          OPENAI_BASE_URL: openai.baseURL,
          ...(scratch ? { DATABASE_URL: scratch.url, REDIS_URL: redisUrl } : {}),
        });
        alice = (await keyCaller(server.app.database.prisma, 'alice')).authorization;
      });
      const wsClient = (url: string) =>
        createClient({
          url,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          connectionParams: { authorization: alice },
        });
      afterAll(async () => {
        await server?.close();
        await openai?.close();
        await scratch?.drop();
      });

      const run = async (query: string, variables: Record<string, unknown>, field: string) => {
        const client = wsClient(server.wsUrl);
        try {
          return await collect<Event>(client, query, variables, field).done;
        } finally {
          await client.dispose();
        }
      };
      const lastUpstream = () =>
        openai.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)?.body as Record<string, unknown>;
      const post = async (query: string, variables: Record<string, unknown>, authorization?: string) => {
        const response = await fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: authorization ?? alice },
          body: JSON.stringify({ query, variables }),
        });
        return (await response.json()) as {
          data?: { submitToolResults: Payload; sendMessage: Payload };
          errors?: { extensions?: { code?: string } }[];
        };
      };

      const askWeather = async () => {
        openai.setReply(weatherScript);
        const events = await run(
          CHAT,
          { input: { content: 'Weather in Oslo?', model: 'gpt-4o-mini', tools: [WEATHER], toolChoice: 'auto' } },
          'chat',
        );
        const end = events.at(-1) as Event;
        expect(end.__typename).toBe('MessageToolCalls');
        return end;
      };

      it('ends the chat stream with MessageToolCalls, keeps REQUIRES_ACTION, and continues after submitToolResults (graphql-ws)', async () => {
        const end = await askWeather();
        expect(end.toolCalls).toEqual([{ id: 'call_w1', name: 'get_weather', arguments: { city: 'Oslo' } }]);
        expect(end.message?.status).toBe('REQUIRES_ACTION');
        const sent = lastUpstream();
        expect(sent.tools).toMatchObject([{ type: 'function', function: { name: 'get_weather' } }]);
        expect(sent.tool_choice).toBe('auto');

        const messageId = end.message?.id as string;
        const row = await server.app.database.prisma.message.findFirstOrThrow({ where: { status: 'REQUIRES_ACTION' } });
        expect(row.id).toBe(Buffer.from(messageId, 'base64url').toString().split(':')[1]);
        expect(row.toolCalls).toEqual([{ id: 'call_w1', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);

        const submitted = await post(SUBMIT, { id: messageId, results: [{ toolCallId: 'call_w1', content: '12 °C' }] });
        expect(submitted.errors).toBeUndefined();
        expect(submitted.data?.submitToolResults.userMessage).toEqual({ id: messageId, status: 'COMPLETE' });
        const next = submitted.data?.submitToolResults.assistantMessage.id as string;
        const events = await run(STREAM, { id: next }, 'messageStream');
        expect(events.at(-1)).toMatchObject({
          __typename: 'MessageCompleted',
          message: { content: 'It is 12 °C there.' },
        });
        const messages = lastUpstream().messages as Record<string, unknown>[];
        expect(messages.slice(-2)).toMatchObject([
          { role: 'assistant', tool_calls: [{ id: 'call_w1', function: { name: 'get_weather' } }] },
          { role: 'tool', tool_call_id: 'call_w1', content: '12 °C' },
        ]);
        // Answered once: a second answer is refused.
        const again = await post(SUBMIT, { id: messageId, results: [{ toolCallId: 'call_w1', content: 'x' }] });
        expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      });

      it('runs the same round trip through urql', async () => {
        openai.setReply(weatherScript);
        const ws = wsClient(server.wsUrl);
        const urql = new UrqlClient({
          url: server.url,
          fetchOptions: () => ({ headers: { authorization: alice } }),
          exchanges: [
            subscriptionExchange({
              forwardSubscription: (request) => ({
                subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
              }),
            }),
            fetchExchange,
          ],
        });
        const follow = (query: string, variables: Record<string, unknown>, field: string) =>
          new Promise<Event[]>((resolve, reject) => {
            const events: Event[] = [];
            const { unsubscribe } = urql.subscription(gql(query), variables).subscribe((result) => {
              if (result.error) return reject(result.error);
              const event = result.data?.[field] as Event;
              events.push(event);
              if (event.__typename !== 'MessageDelta') {
                resolve(events);
                queueMicrotask(() => unsubscribe());
              }
            });
          });
        try {
          const sent = await urql
            .mutation(gql(SEND), { input: { content: 'Weather?', model: 'gpt-4o-mini', tools: [WEATHER] } })
            .toPromise();
          expect(sent.error).toBeUndefined();
          const first = (await follow(STREAM, { id: sent.data.sendMessage.assistantMessage.id }, 'messageStream')).at(
            -1,
          );
          expect(first).toMatchObject({ __typename: 'MessageToolCalls', toolCalls: [{ id: 'call_w1' }] });
          const submitted = await urql
            .mutation(gql(SUBMIT), { id: first?.message?.id, results: [{ toolCallId: 'call_w1', content: { c: 3 } }] })
            .toPromise();
          expect(submitted.error).toBeUndefined();
          const next = await follow(
            STREAM,
            { id: submitted.data.submitToolResults.assistantMessage.id },
            'messageStream',
          );
          expect(next.at(-1)).toMatchObject({
            __typename: 'MessageCompleted',
            message: { content: 'It is {"c":3} there.' },
          });
        } finally {
          await ws.dispose();
        }
      });

      it('refuses wrong, missing and repeated tool call ids (BAD_USER_INPUT) and another user (NOT_FOUND)', async () => {
        const end = await askWeather();
        const id = end.message?.id as string;
        const codeOf = async (results: unknown[], authorization?: string) =>
          (await post(SUBMIT, { id, results }, authorization)).errors?.[0]?.extensions?.code;
        expect(await codeOf([{ toolCallId: 'call_nope', content: 'x' }])).toBe('BAD_USER_INPUT');
        expect(await codeOf([])).toBe('BAD_USER_INPUT');
        expect(
          await codeOf([
            { toolCallId: 'call_w1', content: 'a' },
            { toolCallId: 'call_w1', content: 'b' },
          ]),
        ).toBe('BAD_USER_INPUT');
        const mallory = await keyCaller(server.app.database.prisma, 'mallory');
        expect(await codeOf([{ toolCallId: 'call_w1', content: 'x' }], mallory.authorization)).toBe('NOT_FOUND');
        const row = await server.app.database.prisma.message.findMany({ where: { status: 'REQUIRES_ACTION' } });
        expect(row.map((r) => r.toolResults)).toEqual([null]);
      });

      it('refuses bad tool input: names, choice, schemas (BAD_USER_INPUT)', async () => {
        const codeOf = async (input: Record<string, unknown>) =>
          (await post(SEND, { input: { content: 'hi', model: 'gpt-4o-mini', ...input } })).errors?.[0]?.extensions
            ?.code;
        expect(await codeOf({ tools: [{ ...WEATHER, name: 'bad name!' }] })).toBe('BAD_USER_INPUT');
        expect(await codeOf({ tools: [WEATHER], toolChoice: 'other_tool' })).toBe('BAD_USER_INPUT');
        expect(await codeOf({ tools: [{ ...WEATHER, parameters: { type: 'nonsense' } }] })).toBe('BAD_USER_INPUT');
        expect(await codeOf({ responseFormat: { type: 'JSON_SCHEMA', name: 'x' } })).toBe('BAD_USER_INPUT');
        expect(await codeOf({ tools: Array.from({ length: 33 }, (_, i) => ({ ...WEATHER, name: `t${i}` })) })).toBe(
          'BAD_USER_INPUT',
        );
      });

      it('counts submitToolResults against requestsPerMinute like sendMessage', async () => {
        const db = server.app.database.prisma;
        const { secret } = await insertApiKey(db, {
          userId: (await userNamed(db, 'alice')).id,
          name: 'two a minute',
          scopes: ['CHAT'],
          allowedModels: null,
          expiresAt: null,
          limits: {
            requestsPerMinute: 2,
            tokensPerMinute: null,
            concurrentStreams: null,
            dailyBudgetUsd: null,
            monthlyBudgetUsd: null,
          },
        });
        const limited = `Bearer ${secret}`;
        openai.setReply(weatherScript);
        const sent = await post(
          SEND,
          { input: { content: 'Weather?', model: 'gpt-4o-mini', tools: [WEATHER] } },
          limited,
        );
        expect(sent.errors).toBeUndefined();
        const id = sent.data?.sendMessage.assistantMessage.id as string;
        const messageId = Buffer.from(id, 'base64url').toString().split(':')[1];
        await eventually(
          () => db.message.findUniqueOrThrow({ where: { id: messageId } }),
          (row) => row.status === 'REQUIRES_ACTION',
          { what: 'the reply to ask for tools' },
        );
        const results = [{ toolCallId: 'call_w1', content: 'sunny' }];
        expect((await post(SUBMIT, { id, results }, limited)).errors).toBeUndefined();
        const third = await post(SEND, { input: { content: 'Again', model: 'gpt-4o-mini' } }, limited);
        expect(third.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      });

      const PERSON = {
        type: 'JSON_SCHEMA',
        name: 'person',
        schema: {
          type: 'object',
          properties: { name: { type: 'string' }, age: { type: 'integer' } },
          required: ['name', 'age'],
          additionalProperties: false,
        },
      };

      it('ends a JSON-schema reply that does not validate FAILED with INVALID_OUTPUT, its text kept', async () => {
        openai.setReply('{"name": "Ada", "age": "old"}');
        const events = await run(
          CHAT,
          { input: { content: 'Who?', model: 'gpt-4o-mini', responseFormat: PERSON } },
          'chat',
        );
        expect(events.at(-1)).toMatchObject({
          __typename: 'MessageFailed',
          code: 'INVALID_OUTPUT',
          message: { status: 'FAILED', content: '{"name": "Ada", "age": "old"}' },
        });
        expect(lastUpstream().response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'person' } });
        const stored = await server.app.database.prisma.message.findFirstOrThrow({
          where: { errorCode: 'INVALID_OUTPUT' },
        });
        expect(stored.content).toBe('{"name": "Ada", "age": "old"}');

        openai.setReply('{"name": "Ada", "age": 36}');
        const valid = await run(
          CHAT,
          { input: { content: 'Who?', model: 'gpt-4o-mini', responseFormat: PERSON } },
          'chat',
        );
        expect(valid.at(-1)).toMatchObject({ __typename: 'MessageCompleted', message: { status: 'COMPLETE' } });

        openai.setReply('[1, 2]');
        const notObject = await run(
          CHAT,
          { input: { content: 'List?', model: 'gpt-4o-mini', responseFormat: { type: 'JSON_OBJECT' } } },
          'chat',
        );
        expect(notObject.at(-1)).toMatchObject({ __typename: 'MessageFailed', code: 'INVALID_OUTPUT' });
      });

      it("runs SEARCH_DOCUMENTS itself over the viewer's own documents and cites them, never another user's", async () => {
        const db = server.app.database.prisma;
        const mallory = await keyCaller(db, 'mallory-docs');
        const ingest = `mutation ($input: IngestDocumentInput!) { ingestDocument(input: $input) { id } }`;
        expect(
          (await post(ingest, { input: { title: 'Mine', content: 'The lighthouse keeper is Ingrid Holm.' } })).errors,
        ).toBeUndefined();
        const theirs = { title: 'Theirs', content: 'The lighthouse keeper secret code is ZEBRA-42.' };
        expect((await post(ingest, { input: theirs }, mallory.authorization)).errors).toBeUndefined();
        await eventually(
          () => db.document.count({ where: { status: 'READY' } }),
          (ready) => ready >= 2,
          { what: 'both documents READY' },
        );
        const toolOutputs: string[] = [];
        openai.setReply((input) => {
          const results = input.messages.filter((m) => m.role === 'tool');
          if (results.length === 0) {
            return {
              toolCalls: [{ id: 'call_s1', name: 'search_documents', arguments: { query: 'lighthouse keeper' } }],
            };
          }
          toolOutputs.push(...results.map((r) => r.content));
          return 'The keeper is Ingrid Holm [1].';
        });
        const events = await run(
          CHAT,
          { input: { content: 'Who keeps the lighthouse?', model: 'gpt-4o-mini', builtinTools: ['SEARCH_DOCUMENTS'] } },
          'chat',
        );
        const end = events.at(-1) as Event;
        expect(end).toMatchObject({
          __typename: 'MessageCompleted',
          message: { content: 'The keeper is Ingrid Holm [1].' },
        });
        expect(end.message?.citations?.map((c) => c.document.title)).toEqual(['Mine']);
        expect(toolOutputs.join('\n')).toContain('Ingrid Holm');
        expect(toolOutputs.join('\n')).not.toContain('ZEBRA');
      });
    },
  );
