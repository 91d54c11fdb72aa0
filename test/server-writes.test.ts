/**
 * A stream leaves the server in one write per upstream token: a REST stream's opening (headers,
 * role chunk, first token) and end (last token, finish, usage, `[DONE]`, the chunked terminator),
 * and a GraphQL SSE stream's headers and end, which yoga writes in turns of their own: the
 * server's sockets send what one event-loop turn wrote in one system call (src/server.ts). Each
 * flush is a system call and a wake-up of the reader, the largest cost of a relayed token.
 */
import { Socket } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const TOKENS = 'one two three four five';

/** Counts flushes (`_write`/`_writev` calls) of the server's own sockets, those bound to `port`. */
function countServerFlushes(port: number): { count: number; restore(): void } {
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
  const originals = { _write: proto._write, _writev: proto._writev };
  const counter = {
    count: 0,
    restore() {
      Object.assign(proto, originals);
    },
  };
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    proto[name] = function (this: Socket, ...args: unknown[]) {
      if (this.localPort === port) counter.count++;
      original.apply(this, args);
    };
  }
  return counter;
}

describe('server socket writes', () => {
  let server: TestServer;
  let flushes: { count: number; restore(): void } | undefined;

  beforeAll(async () => {
    server = await startTestServer({ MOCK_TOKEN_DELAY_MS: '30' });
  });
  afterEach(() => flushes?.restore());
  afterAll(() => server?.close());

  it('sends a REST stream in one write per token: the opening and the end go with a token', async () => {
    // No credential: the loopback default, as `npm start` serves it.
    const client = new OpenAI({
      apiKey: 'unused',
      baseURL: `${server.origin}/v1`,
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    flushes = countServerFlushes(server.port);
    const stream = await client.chat.completions.create({
      model: 'mock-echo',
      messages: [{ role: 'user', content: TOKENS }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const tokens = chunks.filter((c) => c.choices[0]?.delta?.content).length;
    expect(tokens).toBeGreaterThanOrEqual(2);
    // Role, tokens, finish, usage, [DONE] and the terminator would be tokens + 4 writes one by one.
    expect(chunks.length).toBeGreaterThanOrEqual(tokens + 2);
    await expect.poll(() => flushes?.count, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(flushes.count).toBeLessThanOrEqual(tokens);
  });

  it('sends a GraphQL SSE stream in one write per event: its headers and its end ride with one', async () => {
    flushes = countServerFlushes(server.port);
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: 'subscription($input: SendMessageInput!) { chat(input: $input) { __typename } }',
        variables: { input: { content: TOKENS, model: 'mock-echo' } },
      }),
    });
    const body = await response.text();
    const events = body.split('\n\n').filter((block) => block.startsWith('event: '));
    expect(events.filter((e) => e.startsWith('event: next')).length).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)).toMatch(/^event: complete/);
    // The headers go with the first event and the terminator with the last (yoga writes them
    // in turns of their own: without the server's coalescing these are events + 2 flushes).
    await expect.poll(() => flushes?.count, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(flushes.count).toBeLessThanOrEqual(events.length);
  });
});
