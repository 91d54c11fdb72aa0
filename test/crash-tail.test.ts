import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { writeConfigFile } from './helpers/config-file.js';
import { createScratchDatabase, postgresUrl, redisUrl } from './helpers/postgres.js';
import { type ServerProcess, spawnServer } from './helpers/spawn-server.js';
import { collect, STREAM_EVENT_FIELDS, shape, wsClient } from './helpers/subscribe.js';
import { startTestServer } from './helpers/test-server.js';

const STREAM = `subscription ($id: ID!, $after: Int) { messageStream(messageId: $id, afterSeq: $after) { ${STREAM_EVENT_FIELDS} } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`;
const MESSAGE = 'query ($id: ID!) { message(id: $id) { status content error } }';
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const rawId = (globalId: string) => Buffer.from(globalId, 'base64url').toString().split(':')[1] as string;

/** The partial writer never runs within a test: without recovery the stored text would be empty. */
const NO_FLUSH = { flushIntervalMs: 600_000 };
/** Another instance notices a dead owner within a second or so. */
const FAST_SWEEP = { heartbeatMs: 100, staleAfterMs: 1_000, sweepIntervalMs: 200 };

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spawn(env: Record<string, string>): ServerProcess {
  const server = spawnServer({ PORT: '0', MOCK_TOKEN_DELAY_MS: '30', ...env });
  // Killed however the test ends (failure, timeout); a no-op once it exited.
  onTestFinished(() => {
    server.child.kill('SIGKILL');
  });
  return server;
}

async function gql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

const send = async (url: string, content: string) =>
  (await gql<{ sendMessage: { assistantMessage: { id: string } } }>(url, SEND, { input: { content } })).sendMessage
    .assistantMessage.id;

describe.skipIf(!postgresUrl || !redisUrl)('kill -9 of the owner, with Postgres and Redis', () => {
  it("after another instance's sweep the stored text is everything the subscriber received", async () => {
    const scratch = await createScratchDatabase(postgresUrl as string);
    cleanups.push(() => scratch.drop());
    const shared = { DATABASE_URL: scratch.url, REDIS_URL: redisUrl as string };
    const survivorFile = writeConfigFile({ chat: FAST_SWEEP });
    const ownerFile = writeConfigFile({ chat: { ...FAST_SWEEP, ...NO_FLUSH } });
    cleanups.push(survivorFile.cleanup, ownerFile.cleanup);
    const survivor = await startTestServer({ ...shared, SWITCHYARD_CONFIG: survivorFile.path });
    cleanups.push(() => survivor.close());
    const owner = spawn({ ...shared, SWITCHYARD_CONFIG: ownerFile.path });
    const id = await send(await owner.url, words(300));

    const client = wsClient(survivor.wsUrl);
    cleanups.push(() => client.dispose());
    const stream = collect(client, STREAM, { id }, 'messageStream');
    await stream.waitFor(5);
    owner.child.kill('SIGKILL');
    expect(await owner.exited).toBe('SIGKILL');

    const events = await stream.done;
    const received = shape(events);
    expect(received.terminal).toEqual(['MessageFailed']);
    expect(events.at(-1)).toMatchObject({ code: 'INTERRUPTED', message: { status: 'FAILED' } });
    expect(received.text.length).toBeGreaterThan(0);
    const row = await survivor.app.database.prisma.message.findUniqueOrThrow({ where: { id: rawId(id) } });
    expect(row).toMatchObject({ status: 'FAILED', errorCode: 'INTERRUPTED', lastSeq: received.seqs.at(-1) });
    expect(row.content).toBe(received.text);
    expect(events.at(-1)?.message?.content).toBe(received.text);
  }, 300_000);
});

describe('kill -9 on the embedded database', () => {
  it('the restarted process stores at least everything the subscriber received', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-crash-tail-'));
    const file = writeConfigFile({ chat: NO_FLUSH });
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }), file.cleanup);
    const env = { DATA_DIR: dataDir, SWITCHYARD_CONFIG: file.path };
    const first = spawn(env);
    const url = await first.url;
    const id = await send(url, words(300));
    const client = wsClient(url.replace(/^http/, 'ws'));
    cleanups.push(() => client.dispose());
    const stream = collect(client, STREAM, { id }, 'messageStream');
    stream.done.catch(() => {}); // the socket dies with the process
    await stream.waitFor(5);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const received = shape(stream.events).text;
    expect(received.length).toBeGreaterThan(0);

    const second = spawn(env);
    const { message } = await gql<{ message: { status: string; content: string; error: string } }>(
      await second.url,
      MESSAGE,
      { id },
    );
    expect(message.status).toBe('FAILED');
    expect(message.error).toMatch(/stopped before it finished/);
    expect(message.content.startsWith(received)).toBe(true);
    expect(message.content.length).toBeGreaterThanOrEqual(received.length);
  }, 300_000);
});
