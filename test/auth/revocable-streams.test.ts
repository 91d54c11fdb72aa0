/**
 * A stream is not a way around revocation or expiry: an SSE subscription signed in with a key
 * ends with UNAUTHENTICATED once the key is revoked, and one signed in with a credential that
 * expires ends when it does; so do REST streams in OpenAI's and Anthropic's forms, as the
 * official clients see them. (graphql-ws sockets are closed with 4403: credentials.test.ts.)
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/schema/global-id.js';
import { keyCaller } from '../helpers/auth.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ADMIN_KEY = 'revocable-streams-admin-key-0123456789';
/** Long enough for a loaded machine to open the stream first; the stream outlives it. */
const EXPIRES_IN_MS = 15_000;
/** Hundreds of tokens at 100 ms each: the stream runs far longer than any wait below. */
const CHAT = `subscription { chat(input: { content: "${Array.from({ length: 500 }, () => 'lorem').join(' ')}" }) {
  __typename ... on MessageDelta { seq } } }`;

interface SseEvent {
  event: string;
  data: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } | undefined;
}

/** Opens an SSE subscription and hands out its events one by one. */
async function openStream(server: TestServer, authorization: string) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization },
    body: JSON.stringify({ query: CHAT }),
  });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  return {
    /** The next event; `end` when the server closed the stream. */
    async next(): Promise<SseEvent | 'end'> {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event = /^event: (\w+)/m.exec(block)?.[1];
          if (!event) continue; // keep-alive comments
          const data = /^data: (.*)$/m.exec(block)?.[1];
          return { event, data: data ? JSON.parse(data) : undefined };
        }
        const { value, done } = await reader.read();
        if (done) return 'end';
        buffered += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

const LONG_PROMPT = Array.from({ length: 500 }, () => 'lorem').join(' ');

/** Revokes a key as the admin; resolves once the server answered. */
async function revoke(server: TestServer, apiKeyId: string) {
  const revoked = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({
      query: 'mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
      variables: { id: encodeGlobalId('ApiKey', apiKeyId) },
    }),
  });
  expect(
    ((await revoked.json()) as { data: { revokeApiKey: { revokedAt: string } } }).data.revokeApiKey.revokedAt,
  ).toBeTruthy();
}

/** Iterates `stream` until it throws (the thrown error) or ends (undefined); counts what came. */
async function untilThrown(stream: AsyncIterable<unknown>): Promise<{ error: unknown; events: number }> {
  let events = 0;
  try {
    for await (const _ of stream) events++;
    return { error: undefined, events };
  } catch (error) {
    return { error, events };
  }
}

/** Reads until an event with errors arrives; returns it and what came after it. */
async function untilRefused(stream: Awaited<ReturnType<typeof openStream>>) {
  for (;;) {
    const event = await stream.next();
    if (event === 'end') throw new Error('the stream ended without an error');
    if (event.data?.errors) return { refusal: event.data.errors, after: await stream.next() };
  }
}

/**
 * Opens an SSE chat with a new key named `name`, runs `whileOpen` on it, revokes the key, and
 * expects the refusal to name the revoked key with nothing but the stream's end after it.
 */
async function expectRevokedMidStream(
  server: TestServer,
  name: string,
  whileOpen: (stream: Awaited<ReturnType<typeof openStream>>) => Promise<void> = async () => {},
) {
  const caller = await keyCaller(server.app.database.prisma, name);
  const stream = await openStream(server, caller.authorization);
  try {
    await whileOpen(stream);
    await revoke(server, caller.apiKeyId);
    const { refusal, after } = await untilRefused(stream);
    expect(refusal[0]).toMatchObject({ message: 'the API key was revoked', extensions: { code: 'UNAUTHENTICATED' } });
    expect(after === 'end' || after.event === 'complete').toBe(true);
  } finally {
    await stream.cancel();
  }
}

describe('streams end when their credential does', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SWITCHYARD_ADMIN_KEY: ADMIN_KEY, MOCK_TOKEN_DELAY_MS: '100' });
  });
  afterAll(() => server.close());

  it('ends an SSE subscription with UNAUTHENTICATED when its key is revoked', async () => {
    await expectRevokedMidStream(server, 'streamer', async (stream) => {
      const first = await stream.next();
      expect(first).toMatchObject({ event: 'next', data: { data: { chat: { __typename: 'MessageDelta' } } } });
    });
  });

  it('ends an SSE subscription when its key expires', async () => {
    const caller = await keyCaller(server.app.database.prisma, 'brief', {
      expiresAt: new Date(Date.now() + EXPIRES_IN_MS),
    });
    const stream = await openStream(server, caller.authorization);
    try {
      expect(await stream.next()).toMatchObject({ event: 'next' });
      const { refusal } = await untilRefused(stream);
      expect(refusal[0]).toMatchObject({
        message: 'the credential has expired',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    } finally {
      await stream.cancel();
    }
  });

  it("stops a REST stream in OpenAI's form when its key is revoked, with an authentication error", async () => {
    const caller = await keyCaller(server.app.database.prisma, 'rest streamer');
    const client = new OpenAI({ apiKey: caller.secret, baseURL: `${server.origin}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'mock-echo',
      stream: true,
      messages: [{ role: 'user', content: LONG_PROMPT }],
    });
    const chunks = stream[Symbol.asyncIterator]();
    // The role chunk, then the first token: the stream runs.
    await chunks.next();
    expect((await chunks.next()).value?.choices[0]?.delta.content).toBeTruthy();
    await revoke(server, caller.apiKeyId);
    const { error, events } = await untilThrown({ [Symbol.asyncIterator]: () => chunks });
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({
      code: 'invalid_api_key',
      message: expect.stringContaining('the API key was revoked'),
    });
    // 500 words at 100 ms each would take 50 s: it stopped long before the end.
    expect(events).toBeLessThan(400);
    // Written once the call ended, which may be after the client read the error.
    const usage = await eventually(
      () => server.app.database.prisma.usageEvent.findMany({ where: { apiKeyId: caller.apiKeyId } }),
      (rows) => rows.length === 1,
      { what: "the revoked call's usage event" },
    );
    expect(usage).toMatchObject([{ status: 'CANCELLED' }]);
  });

  it("stops a REST stream in Anthropic's form when its key is revoked, with an authentication error", async () => {
    const caller = await keyCaller(server.app.database.prisma, 'anthropic streamer');
    const client = new Anthropic({ apiKey: caller.secret, baseURL: server.origin, maxRetries: 0 });
    const stream = await client.messages.create({
      model: 'mock-echo',
      max_tokens: 4_096,
      stream: true,
      messages: [{ role: 'user', content: LONG_PROMPT }],
    });
    const events = stream[Symbol.asyncIterator]();
    for (let event = await events.next(); event.value?.type !== 'content_block_delta'; event = await events.next()) {
      expect(event.done).toBe(false);
    }
    await revoke(server, caller.apiKeyId);
    const { error } = await untilThrown({ [Symbol.asyncIterator]: () => events });
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(String((error as Error).message)).toContain('the API key was revoked');
    expect(String((error as Error).message)).toContain('authentication_error');
  });
});

describe('a stream waiting on a slow model', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Far longer than the test's timeout: the refusal cannot ride on a token.
    server = await startTestServer({ SWITCHYARD_ADMIN_KEY: ADMIN_KEY, MOCK_TOKEN_DELAY_MS: '3600000' });
  });
  afterAll(() => server.close());

  it('ends with UNAUTHENTICATED as soon as its key is revoked, before any token comes', async () => {
    // Once the response has begun (openStream awaits it), the subscription runs and watches its key.
    await expectRevokedMidStream(server, 'waiting');
  });
});
