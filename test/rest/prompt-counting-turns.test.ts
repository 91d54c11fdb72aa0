/**
 * Counting a large prompt's tokens does not stop the server: through the real server, while a
 * request with megabytes of varied words is counted, `GET /health/live` keeps answering; a prompt
 * far past the model's window is refused without counting all of it; count_tokens stays exact.
 * What is asserted is structural (probes answered while the request was in flight), not timing.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageTokens, REPLY_PRIMING_TOKENS } from '../../src/chat/token-count.js';
import { keyCaller } from '../helpers/auth.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { variedWords as words } from '../helpers/varied-words.js';

interface Probed {
  status: number;
  body: string;
  /** Health probes answered after the request was sent, before its answer came: in its second half, and in all. */
  answeredInSecondHalf: number;
  answeredInFlight: number;
}

/** One HTTP exchange on a connection of its own (no keep-alive: a reused socket can be reset under it). */
function exchange(
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: body === undefined ? 'GET' : 'POST', headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

describe('counting a large prompt', () => {
  let server: TestServer;
  let authorization: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ authorization } = await keyCaller(server.app.database.prisma, 'big-prompts'));
  });
  afterAll(async () => {
    await server?.close();
  });

  /** POSTs `body` while a loop probes /health/live; which probes were answered while it was in flight. */
  async function whileProbing(path: string, body: unknown): Promise<Probed> {
    const payload = JSON.stringify(body);
    const answers: number[] = [];
    let stop = false;
    const probing = (async () => {
      while (!stop) {
        const probe = await exchange(`${server.origin}/health/live`);
        expect(probe.status).toBe(200);
        answers.push(performance.now());
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const sent = performance.now();
    const response = await exchange(`${server.origin}${path}`, payload, {
      authorization,
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
    });
    const answered = performance.now();
    stop = true;
    await probing;
    const half = (sent + answered) / 2;
    return {
      status: response.status,
      body: response.text,
      answeredInSecondHalf: answers.filter((t) => t > half && t < answered).length,
      answeredInFlight: answers.filter((t) => t > sent && t < answered).length,
    };
  }

  it('count_tokens counts a megabyte of words exactly, and the server answers others meanwhile', async () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({
      role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: words(99_000, i + 1),
    }));
    // Counted here first: the count ties up this process (the server's too) for a while.
    const expected = messages.reduce((sum, message) => sum + messageTokens(message), REPLY_PRIMING_TOKENS);
    const probed = await whileProbing('/v1/messages/count_tokens', { model: 'mock-echo', messages });
    expect(probed.status, probed.body).toBe(200);
    expect(JSON.parse(probed.body)).toEqual({ input_tokens: expected });
    // Counted in turns: health probes were answered while it counted, up to its end.
    expect(probed.answeredInFlight).toBeGreaterThan(0);
    expect(probed.answeredInSecondHalf).toBeGreaterThan(0);
  });

  it('refuses a megabyte prompt past the window, from a count that stopped soon past it', async () => {
    const probed = await whileProbing('/v1/chat/completions', {
      model: 'mock-echo',
      max_tokens: 5,
      messages: [{ role: 'user', content: words(990_000, 99) }],
    });
    expect(probed.status, probed.body).toBe(400);
    const { error } = JSON.parse(probed.body) as { error: { message: string; type: string; param: string } };
    expect(error).toMatchObject({ type: 'invalid_request_error', param: 'messages' });
    // mock-echo's window is 8,192 tokens: the count stopped a few tokens past it, not at ~450,000.
    const [, counted] =
      error.message.match(/^The prompt \(more than (\d+) tokens plus max_tokens 5\) does not fit/) ?? [];
    expect(Number(counted)).toBeGreaterThan(8_192 - 5);
    expect(Number(counted)).toBeLessThan(8_192 + 100);
  });

  it('refuses tool definitions past the window the same way', async () => {
    const tools = Array.from({ length: 16 }, (_, i) => ({
      type: 'function' as const,
      function: {
        name: `tool_${i}`,
        description: 'd',
        parameters: { type: 'object', properties: { x: { type: 'string', description: words(60_000, 200 + i) } } },
      },
    }));
    const probed = await whileProbing('/v1/chat/completions', {
      model: 'mock-echo',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
      tools,
    });
    expect(probed.status, probed.body).toBe(400);
    expect(probed.body).toMatch(/The prompt \(more than \d+ tokens plus max_tokens 5\) does not fit mock\/mock-echo/);
  });
});
