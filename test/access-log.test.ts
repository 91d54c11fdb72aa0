/**
 * The access log through the real server, its lines captured: one line per REST call, GraphQL
 * request and SSE subscription (at its end), and one per operation on a WebSocket, with request id,
 * trace id, viewer ids, operation, status or code, duration, and the tokens and cost of a
 * generation that ended within the request. Never the prompt, the completion or the API key.
 * `accessLog: { enabled: false }` turns it off.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessLog } from '../src/http/access-log.js';
import { traceIdFromHeaders } from '../src/http/trace-parent.js';
import { createLogger } from '../src/logger.js';
import { type FakeServer, startAnthropicFake, startOpenAIFake } from './fakes/index.js';
import { keyCaller } from './helpers/auth.js';
import { writeConfigFile } from './helpers/config-file.js';
import { eventually } from './helpers/eventually.js';
import { fakeProviderEnv } from './helpers/fake-provider-env.js';
import { type LogLine, startLoggedServer } from './helpers/logged-server.js';
import { collect, STREAM_EVENT_FIELDS, type StreamEventResult, wsClient } from './helpers/subscribe.js';
import type { TestServer } from './helpers/test-server.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const PROMPT = 'my secret prompt about the blue heron';
const REPLY = 'the heron answer stays private';
/** A message's database id from the GraphQL global id a REST response names it by. */
const dbId = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1] as string;
const CHAT = `subscription Chat($input: SendMessageInput!) { chat(input: $input) { ${STREAM_EVENT_FIELDS} } }`;

describe('access log', () => {
  let server: TestServer;
  let logs: LogLine[];
  let openai: FakeServer;
  let anthropic: FakeServer;
  let caller: Awaited<ReturnType<typeof keyCaller>>;
  const access = () => logs.filter((line) => line.message === 'access');

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([startOpenAIFake({ reply: REPLY }), startAnthropicFake({ reply: REPLY })]);
    ({ server, logs } = await startLoggedServer(fakeProviderEnv({ openai, anthropic }), 'info'));
    caller = await keyCaller(server.app.database.prisma, 'heron-watcher');
  });
  afterAll(async () => {
    await server?.close();
    await openai?.close();
    await anthropic?.close();
  });

  it('writes one line for a REST chat with ids, trace, status, duration, tokens and cost as stored', async () => {
    const response = await fetch(`${server.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: caller.authorization,
        'x-request-id': 'req-rest-1',
        traceparent: TRACEPARENT,
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('heron');
    const [line] = await eventually(
      () => access().filter((l) => l.requestId === 'req-rest-1'),
      (lines) => lines.length > 0,
      { what: "the REST call's access line" },
    );
    const [usage] = await server.app.database.prisma.usageEvent.findMany({ where: { apiKeyId: caller.apiKeyId } });
    expect(usage).toBeDefined();
    expect(line).toMatchObject({
      level: 'info',
      requestId: 'req-rest-1',
      traceId: TRACE_ID,
      transport: 'http',
      method: 'POST',
      path: '/v1/chat/completions',
      operation: 'POST /v1/chat/completions',
      status: 200,
      userId: caller.userId,
      apiKeyId: caller.apiKeyId,
      tokens: { prompt: usage?.promptTokens, completion: usage?.completionTokens },
    });
    expect(line?.costUsd).toBeCloseTo(Number(usage?.costUsd), 9);
    expect(line?.costUsd).toBeGreaterThan(0);
    expect(line?.durationMs).toBeGreaterThan(0);
    expect(line?.code).toBeUndefined();
    expect(access().filter((l) => l.requestId === 'req-rest-1')).toHaveLength(1);
  });

  it('gives REST calls refused before any provider the code they were refused with', async () => {
    const post = (path: string, requestId: string, headers: Record<string, string>, body: unknown) =>
      fetch(`${server.origin}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
        body: JSON.stringify(body),
      });
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] };
    const cases = [
      {
        id: 'req-refused-model',
        status: 404,
        code: 'NOT_FOUND',
        send: () =>
          post(
            '/v1/chat/completions',
            'req-refused-model',
            { authorization: caller.authorization },
            { ...chat, model: 'no-such-model' },
          ),
      },
      {
        id: 'req-refused-key',
        status: 401,
        code: 'UNAUTHENTICATED',
        send: () => post('/v1/chat/completions', 'req-refused-key', { authorization: 'Bearer sk-sy-wrong' }, chat),
      },
      {
        id: 'req-refused-n',
        status: 400,
        code: 'BAD_USER_INPUT',
        send: () =>
          post('/v1/chat/completions', 'req-refused-n', { authorization: caller.authorization }, { ...chat, n: 2 }),
      },
      {
        id: 'req-refused-embedding',
        status: 404,
        code: 'NOT_FOUND',
        send: () =>
          post(
            '/v1/embeddings',
            'req-refused-embedding',
            { authorization: caller.authorization },
            { model: 'no-such-model', input: 'x' },
          ),
      },
      {
        id: 'req-refused-anthropic',
        status: 401,
        code: 'UNAUTHENTICATED',
        send: () =>
          post(
            '/v1/messages',
            'req-refused-anthropic',
            { 'x-api-key': 'sk-sy-wrong', 'anthropic-version': '2023-06-01' },
            { ...chat, max_tokens: 8 },
          ),
      },
      {
        id: 'req-refused-anthropic-body',
        status: 400,
        code: 'BAD_USER_INPUT',
        send: () =>
          post(
            '/v1/messages',
            'req-refused-anthropic-body',
            { 'x-api-key': caller.secret, 'anthropic-version': '2023-06-01' },
            { model: 'gpt-4o-mini' },
          ),
      },
      {
        id: 'req-no-route',
        status: 404,
        code: 'NOT_FOUND',
        send: () => post('/v1/chat/nothing-here', 'req-no-route', { authorization: caller.authorization }, {}),
      },
      {
        id: 'req-wrong-method',
        status: 405,
        code: 'BAD_USER_INPUT',
        send: () =>
          fetch(`${server.origin}/v1/chat/completions`, {
            headers: { authorization: caller.authorization, 'x-request-id': 'req-wrong-method' },
          }),
      },
    ];
    for (const c of cases) {
      const response = await c.send();
      await response.arrayBuffer();
      expect(response.status, c.id).toBe(c.status);
    }
    for (const c of cases) {
      const [line] = await eventually(
        () => access().filter((l) => l.requestId === c.id),
        (lines) => lines.length > 0,
        { what: `the access line of ${c.id}` },
      );
      expect(line, c.id).toMatchObject({ status: c.status, code: c.code });
    }
  });

  it('gives a call stored as a conversation turn the tokens, cost and error code of its stored message', async () => {
    const rest = (path: string, id: string, body: Record<string, unknown>) =>
      fetch(`${server.origin}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: caller.authorization,
          'anthropic-version': '2023-06-01',
          'x-request-id': id,
          'x-switchyard-conversation': 'new',
        },
        body: JSON.stringify(body),
      });
    const messages = [{ role: 'user', content: PROMPT }];
    // Both REST families, streamed and not; the last call's upstream refuses it (its message FAILED).
    const calls = [
      { id: 'req-stored-openai-sse', path: '/v1/chat/completions', body: { model: 'gpt-4o-mini', stream: true } },
      { id: 'req-stored-openai-json', path: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } },
      { id: 'req-stored-anthropic-sse', path: '/v1/messages', body: { model: 'claude-haiku-4-5', stream: true } },
      { id: 'req-stored-anthropic-json', path: '/v1/messages', body: { model: 'claude-haiku-4-5' } },
      { id: 'req-stored-failed', path: '/v1/chat/completions', body: { model: 'gpt-4o-mini' }, fails: true },
    ];
    for (const call of calls) {
      if (call.fails) openai.faults.next({ path: '/v1/chat/completions', status: 400 });
      const response = await rest(call.path, call.id, { ...call.body, max_tokens: 100, messages });
      const text = await response.text();
      expect(response.status, text).toBe(call.fails ? 502 : 200);
      if (!call.fails) expect(text).toContain('heron');
      const messageId = dbId(response.headers.get('x-switchyard-message-id') ?? '');
      const line = (
        await eventually(
          () => access().filter((l) => l.requestId === call.id),
          (lines) => lines.length > 0,
          { what: `the access line of ${call.id}` },
        )
      )[0];
      const stored = await server.app.database.prisma.message.findUniqueOrThrow({ where: { id: messageId } });
      expect(stored.status).toBe(call.fails ? 'FAILED' : 'COMPLETE');
      expect(line, call.id).toMatchObject({ operation: `POST ${call.path}`, userId: caller.userId });
      if (call.fails) {
        // Refused before any provider answered: nothing was charged, and the line has no tokens.
        expect(stored.promptTokens).toBeNull();
        expect(line?.tokens).toBeUndefined();
        expect(line?.code).toBe(stored.errorCode);
        expect(line?.code).toEqual(expect.any(String));
      } else {
        expect(line?.tokens, call.id).toEqual({ prompt: stored.promptTokens, completion: stored.completionTokens });
        expect(stored.completionTokens).toBeGreaterThan(0);
        expect(line?.costUsd).toBeGreaterThan(0);
        expect(line?.costUsd).toBeCloseTo(Number(stored.costUsd), 9);
        expect(line?.code).toBeUndefined();
      }
    }
  });

  it('names the GraphQL operation and its error code, and gives each request an id of its own', async () => {
    const query = (body: string, id?: string) =>
      fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: caller.authorization,
          ...(id ? { 'x-request-id': id } : {}),
        },
        body: JSON.stringify({ query: body }),
      }).then((r) => r.json());
    await query('query Health { health { status } }', 'req-gql-1');
    await query(`mutation Send { sendMessage(input: { content: "" }) { assistantMessage { id } } }`, 'req-gql-2');
    await query('{ health { status } }');
    const lines = await eventually(
      () => access().filter((l) => l.path === '/graphql' && l.userId === caller.userId),
      (found) => found.length >= 3,
      { what: 'three GraphQL access lines' },
    );
    expect(lines.find((l) => l.requestId === 'req-gql-1')).toMatchObject({
      operation: 'query Health',
      status: 200,
      apiKeyId: caller.apiKeyId,
      transport: 'http',
    });
    expect(lines.find((l) => l.requestId === 'req-gql-1')?.traceId).toBeUndefined();
    expect(lines.find((l) => l.requestId === 'req-gql-2')).toMatchObject({
      operation: 'mutation Send',
      code: 'BAD_USER_INPUT',
    });
    const anonymous = lines.find((l) => l.operation === 'query anonymous');
    expect(anonymous?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes a line when an SSE subscription ends and one per operation on a WebSocket', async () => {
    const sse = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: caller.authorization,
        'x-request-id': 'req-sse-1',
      },
      body: JSON.stringify({ query: CHAT, variables: { input: { content: PROMPT, model: 'gpt-4o-mini' } } }),
    });
    expect(await sse.text()).toContain('MessageCompleted');

    const ws = wsClient(server.wsUrl, { authorization: caller.authorization });
    const chat = collect<StreamEventResult>(ws, CHAT, { input: { content: PROMPT, model: 'gpt-4o-mini' } }, 'chat');
    expect((await chat.done).at(-1)?.__typename).toBe('MessageCompleted');
    await ws.dispose();

    const lines = await eventually(
      () => access().filter((l) => l.operation === 'subscription Chat'),
      (found) => found.length >= 2,
      { what: 'both subscriptions logged' },
    );
    expect(lines.find((l) => l.requestId === 'req-sse-1')).toMatchObject({
      transport: 'http',
      status: 200,
      userId: caller.userId,
      apiKeyId: caller.apiKeyId,
    });
    const socket = lines.find((l) => l.transport === 'graphql-ws');
    expect(socket).toMatchObject({ userId: caller.userId, apiKeyId: caller.apiKeyId });
    expect(socket?.durationMs).toBeGreaterThan(0);
    expect(socket?.requestId).toEqual(expect.any(String));
  });

  it("gives a chat subscription's line its generation's tokens, cost and error code, over SSE and graphql-ws", async () => {
    const prisma = server.app.database.prisma;
    const input = { content: PROMPT, model: 'gpt-4o-mini', maxTokens: 100 };
    const overSse = async (id: string) => {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: caller.authorization,
          'x-request-id': id,
        },
        body: JSON.stringify({ query: CHAT, variables: { input } }),
      });
      const results = (await response.text())
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice('data: '.length)) as { data?: { chat: StreamEventResult } });
      return results.flatMap((r) => (r.data ? [r.data.chat] : []));
    };
    const ws = wsClient(server.wsUrl, { authorization: caller.authorization });
    /** Over graphql-ws, under an operation name of its own (which finds its line). */
    const overWs = (name: string) =>
      collect<StreamEventResult>(ws, CHAT.replace('Chat(', `${name}(`), { input }, 'chat').done;
    const lineWhere = (what: string, match: (line: LogLine) => boolean) =>
      eventually(
        () => access().find(match),
        (found) => found !== undefined,
        { what },
      );
    const storedOf = (end: StreamEventResult | undefined) =>
      prisma.message.findUniqueOrThrow({ where: { id: dbId(end?.message?.id ?? '') } });

    try {
      const chats = [
        { name: 'SseChat', run: () => overSse('req-chat-sse'), line: (l: LogLine) => l.requestId === 'req-chat-sse' },
        {
          name: 'SseFailedChat',
          fails: true,
          run: () => overSse('req-chat-sse-failed'),
          line: (l: LogLine) => l.requestId === 'req-chat-sse-failed',
        },
        { name: 'WsChat', run: () => overWs('WsChat'), line: (l: LogLine) => l.operation === 'subscription WsChat' },
        {
          name: 'WsFailedChat',
          fails: true,
          run: () => overWs('WsFailedChat'),
          line: (l: LogLine) => l.operation === 'subscription WsFailedChat',
        },
      ];
      for (const chat of chats) {
        if (chat.fails) openai.faults.next({ path: '/v1/chat/completions', status: 400 });
        const end = (await chat.run()).at(-1);
        expect(end?.__typename, chat.name).toBe(chat.fails ? 'MessageFailed' : 'MessageCompleted');
        const stored = await storedOf(end);
        const line = await lineWhere(`the access line of ${chat.name}`, chat.line);
        expect(line, chat.name).toMatchObject({
          transport: chat.name.startsWith('Ws') ? 'graphql-ws' : 'http',
          userId: caller.userId,
        });
        if (chat.fails) {
          expect(stored.status).toBe('FAILED');
          expect(line?.code, chat.name).toBe(stored.errorCode);
          expect(line?.code).toEqual(expect.any(String));
          expect(line?.tokens).toBeUndefined();
        } else {
          expect(stored.completionTokens).toBeGreaterThan(0);
          expect(line?.tokens, chat.name).toEqual({ prompt: stored.promptTokens, completion: stored.completionTokens });
          expect(line?.costUsd).toBeGreaterThan(0);
          expect(line?.costUsd).toBeCloseTo(Number(stored.costUsd), 9);
          expect(line?.code).toBeUndefined();
        }
      }
    } finally {
      await ws.dispose();
    }
  });

  it('gives no tokens to a search whose embedder reports none (the local one)', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: caller.authorization, 'x-request-id': 'req-local' },
      body: JSON.stringify({ query: 'query LocalSearch { search(query: "egrets", mode: VECTOR) { score } }' }),
    });
    expect(await response.json()).toEqual({ data: { search: [] } });
    const [line] = await eventually(
      () => access().filter((l) => l.requestId === 'req-local'),
      (lines) => lines.length > 0,
      { what: "the local search's access line" },
    );
    expect(line).toMatchObject({ operation: 'query LocalSearch', status: 200 });
    expect(line?.tokens).toBeUndefined();
  });

  it('never logs the prompt, the reply, the API key or query variables', () => {
    expect(access().length).toBeGreaterThan(5);
    const text = JSON.stringify(logs);
    expect(text).not.toContain('heron');
    expect(text).not.toContain(caller.secret);
    expect(text).not.toContain(caller.authorization);
  });
});

describe('access log off', () => {
  it('writes no access line when the config file turns it off', async () => {
    const file = writeConfigFile({ accessLog: { enabled: false } });
    try {
      const { server, logs } = await startLoggedServer({ SWITCHYARD_CONFIG: file.path }, 'info');
      const result = await server.query('query Health { health { status } }');
      expect(result.errors).toBeUndefined();
      const rest = await fetch(`${server.origin}/v1/models`);
      expect(rest.status).toBe(200);
      await rest.text();
      // The server logs at info (it said it was listening), but no access line.
      expect(logs.some((l) => l.message === 'switchyard listening')).toBe(true);
      expect(logs.filter((l) => l.message === 'access')).toEqual([]);
    } finally {
      file.cleanup();
    }
  });
});

describe('the trace id of an access line', () => {
  it('reads a valid traceparent only', () => {
    const of = (traceparent?: string) => traceIdFromHeaders({ headers: traceparent ? { traceparent } : {} });
    expect(of(TRACEPARENT)).toBe(TRACE_ID);
    expect(of()).toBeUndefined();
    expect(of(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(of(`00-${TRACE_ID}-${'0'.repeat(16)}-01`)).toBeUndefined();
    expect(of(`ff-${TRACE_ID}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(of(`00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(of(`00-${TRACE_ID}-00f067aa0ba902b7-01-extra`)).toBeUndefined();
    expect(of(`01-${TRACE_ID}-00f067aa0ba902b7-01-future`)).toBe(TRACE_ID);
  });

  it('comes from the injected traceIdOf when one is given', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createAccessLog({
      logger: createLogger('info', (line) => lines.push(JSON.parse(line))),
      enabled: true,
      traceIdOf: () => 'from-the-span',
    });
    const http: Server = createServer(log.wrap((_request, response) => response.end('ok')));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/v1/models?key=sk-secret`, {
        headers: { traceparent: TRACEPARENT },
      });
      expect(await response.text()).toBe('ok');
      const line = await eventually(
        () => lines.find((l) => l.message === 'access'),
        (found) => found !== undefined,
        { what: 'the access line' },
      );
      expect(line).toMatchObject({ traceId: 'from-the-span', path: '/v1/models', status: 200 });
      expect(JSON.stringify(lines)).not.toContain('sk-secret');
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
