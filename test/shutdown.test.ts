import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient } from 'graphql-ws';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { type FakeServer, startOpenAIFake, tokenize } from './fakes/index.js';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase, postgresUrl } from './helpers/postgres.js';
import { type ServerProcess, spawnServer } from './helpers/spawn-server.js';
import { type Collected, collect, STREAM_EVENT_FIELDS, type StreamEventResult, shape } from './helpers/subscribe.js';
import { startValveProxy, type ValveProxy } from './helpers/valve-proxy.js';

const STREAM = `subscription ($id: ID!, $after: Int) { messageStream(messageId: $id, afterSeq: $after) { ${STREAM_EVENT_FIELDS} } }`;
const CHAT = `subscription ($input: SendMessageInput!) { chat(input: $input) { ${STREAM_EVENT_FIELDS} } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const MESSAGE = 'query ($id: ID!) { message(id: $id) { status content error } }';
const words = (n: number, prefix = 'w') => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');
const input = (content: string) => ({ content, model: 'gpt-4o-mini' });

const REPLY = words(300, 'tok');

interface Running {
  server: ServerProcess;
  url: string;
  dataDir: string;
  database: Record<string, string>;
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The embedded database in a fresh directory, or a scratch database when DATABASE_URL names a server. */
async function databaseEnv(): Promise<Record<string, string>> {
  if (!postgresUrl) return {};
  const scratch = await createScratchDatabase(postgresUrl);
  cleanups.push(() => scratch.drop());
  return { DATABASE_URL: scratch.url };
}

async function startServer(env: Record<string, string>): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-shutdown-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const database = await databaseEnv();
  const server = spawnServer({ PORT: '0', DATA_DIR: dataDir, OPENAI_API_KEY: 'sk-test', ...database, ...env });
  // Killed however the test ends (failure, timeout); a no-op once it exited by itself.
  onTestFinished(() => {
    server.child.kill('SIGKILL');
  });
  return { server, url: await server.url, dataDir, database };
}

async function gql<T>(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
}

const send = async (url: string, content: string) => {
  const result = await gql<{ sendMessage: { assistantMessage: { id: string } } }>(url, SEND, {
    input: input(content),
  });
  expect(result.errors).toBeUndefined();
  return result.data?.sendMessage.assistantMessage.id as string;
};

/** A graphql-ws client that records how its socket closed, and when (relative to `log`). */
function trackedClient(url: string, log: string[], name: string): { client: Client; closeCode: Promise<number> } {
  let resolve: (code: number) => void = () => {};
  const closeCode = new Promise<number>((r) => {
    resolve = r;
  });
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    // Not lazy: a lazy client closes its own socket (1000) once its last operation completes.
    lazy: false,
    onNonLazyError: () => {}, // the close is what the test looks at
    on: {
      closed: (event) => {
        log.push(`${name} closed`);
        resolve((event as { code: number }).code);
      },
    },
  });
  cleanups.push(() => client.dispose());
  return { client, closeCode };
}

/** messageStream over SSE: the events, a wait for the first one, and the end of the response. */
function sseStream(url: string, id: string) {
  const events: StreamEventResult[] = [];
  let first: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    first = resolve;
  });
  const done = (async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: STREAM, variables: { id } }),
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith('event: next')) {
          events.push(JSON.parse(block.slice(block.indexOf('data: ') + 6)).data.messageStream);
          first();
        }
        end = buffer.indexOf('\n\n');
      }
    }
    return events;
  })();
  return { events, started, done };
}

describe('SIGTERM drains: running chats finish, new ones are refused', () => {
  let openai: FakeServer;
  let valve: ValveProxy;

  it('every subscriber gets its deltas and one MessageCompleted, rows are COMPLETE, sockets close 1001, exit 0', async () => {
    openai = await startOpenAIFake({ reply: REPLY });
    openai.faults.always({ path: '/v1/chat/completions', tokenDelayMs: 10 });
    valve = await startValveProxy({ host: '127.0.0.1', port: openai.port });
    // Every stream delivers its first tokens, then waits for the test: all are running at SIGTERM.
    valve.holdAfter(/tok2"/);
    cleanups.push(
      () => openai.close(),
      () => valve.close(),
    );
    const { server, url, dataDir, database } = await startServer({
      OPENAI_BASE_URL: `${valve.url}/v1`,
      SHUTDOWN_TIMEOUT_MS: '300000',
    });

    const log: string[] = [];
    const ws = [trackedClient(url, log, 'ws0'), trackedClient(url, log, 'ws1')];
    const N = 20;
    const ids: string[] = [];
    const streams: Collected<StreamEventResult>[] = [];
    for (let i = 0; i < N - 2; i++) {
      const id = await send(url, `question ${i}`);
      ids.push(id);
      streams.push(collect((ws[i % 2] as (typeof ws)[0]).client, STREAM, { id }, 'messageStream'));
    }
    const chat = collect((ws[0] as (typeof ws)[0]).client, CHAT, { input: input('by chat') }, 'chat');
    streams.push(chat);
    const sseId = await send(url, 'over SSE');
    ids.push(sseId);
    const sse = sseStream(url, sseId);
    for (const [i, s] of streams.entries()) void s.done.then(() => log.push(`stream ${i} done`));

    await Promise.all([...streams.map((s) => s.waitFor(1)), sse.started]);
    server.child.kill('SIGTERM');

    const ready = await eventually(
      () => fetch(new URL('/health/ready', url)).then(async (r) => ({ status: r.status, body: await r.json() })),
      (r) => r.status === 503,
      { what: '/health/ready to say 503 while draining' },
    );
    expect(ready.body).toMatchObject({ ready: false, reason: 'shutting down' });

    const refused = await gql(url, SEND, { input: input('too late') });
    expect(refused.errors?.[0]?.extensions?.code).toBe('SHUTTING_DOWN');
    const refusedChat = await collect(ws[1]?.client as Client, CHAT, { input: input('late chat') }, 'chat').done.then(
      () => [],
      (errors) => errors as { extensions?: { code?: string } }[],
    );
    expect(refusedChat[0]?.extensions?.code).toBe('SHUTTING_DOWN');

    // A reader that attaches during the drain to a running message is still served, from the start.
    const late = trackedClient(url, log, 'late');
    const lateStream = collect(late.client, STREAM, { id: ids[0] }, 'messageStream');
    await lateStream.waitFor(1);
    void lateStream.done.then(() => log.push('late done'));

    valve.release();
    const all = [...streams, lateStream];
    const results = await Promise.all(all.map((s) => s.done));
    const sseEvents = await sse.done;
    for (const [i, events] of [...results, sseEvents].entries()) {
      const { seqs, text, terminal } = shape(events);
      expect(terminal, `stream ${i}`).toEqual(['MessageCompleted']);
      expect(text, `stream ${i}`).toBe(REPLY);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(events.at(-1)?.message).toMatchObject({ status: 'COMPLETE', content: REPLY });
    }

    expect(await Promise.all([...ws, late].map((c) => c.closeCode))).toEqual([1001, 1001, 1001]);
    // Every socket closed only after every stream on it had its terminal event.
    const lastDone = Math.max(...log.flatMap((entry, i) => (entry.endsWith('done') ? [i] : [])));
    const firstClosed = Math.min(...log.flatMap((entry, i) => (entry.endsWith('closed') ? [i] : [])));
    expect(lastDone).toBeLessThan(firstClosed);
    expect(await server.exited).toBe(0);

    // The rows, as a fresh process on the same data directory reads them.
    const again = spawnServer({ PORT: '0', DATA_DIR: dataDir, OPENAI_API_KEY: 'sk-test', ...database });
    onTestFinished(() => {
      again.child.kill('SIGKILL');
    });
    const againUrl = await again.url;
    for (const id of ids) {
      const row = await gql<{ message: { status: string; content: string } }>(againUrl, MESSAGE, { id });
      expect(row.data?.message).toMatchObject({ status: 'COMPLETE', content: REPLY });
    }
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 300_000);

  it('what still runs at SHUTDOWN_TIMEOUT_MS ends INTERRUPTED with the text its subscribers got', async () => {
    openai = await startOpenAIFake({ reply: REPLY });
    // Five tokens after the role chunk, then silence until the client goes away.
    openai.faults.always({ path: '/v1/chat/completions', stallAfterChunks: 6 });
    cleanups.push(() => openai.close());
    const { server, url } = await startServer({ OPENAI_BASE_URL: openai.baseURL, SHUTDOWN_TIMEOUT_MS: '200' });
    const expected = tokenize(REPLY).slice(0, 5).join('');

    const log: string[] = [];
    const { client, closeCode } = trackedClient(url, log, 'ws');
    const ids: string[] = [];
    const streams: Collected<StreamEventResult>[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await send(url, `question ${i}`);
      ids.push(id);
      streams.push(collect(client, STREAM, { id }, 'messageStream'));
    }
    await eventually(
      async () => streams.map((s) => shape(s.events).text),
      (texts) => texts.every((text) => text === expected),
      { what: 'every subscriber to have the five tokens sent before the stall' },
    );
    server.child.kill('SIGTERM');

    for (const events of await Promise.all(streams.map((s) => s.done))) {
      expect(shape(events)).toMatchObject({ text: expected, terminal: ['MessageFailed'] });
      expect(events.at(-1)).toMatchObject({
        code: 'INTERRUPTED',
        error: 'The server shut down',
        message: { status: 'FAILED', content: expected },
      });
    }
    expect(await closeCode).toBe(1001);
    expect(await server.exited).toBe(0);
    expect(openai.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.outcome)).toEqual(
      Array(5).fill('aborted'),
    );
  }, 300_000);
});
