import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';

interface Refusal {
  errors: { message: string; extensions: { code: string; limit: string; max: number } }[];
}

/** Posts a body in chunks without declaring its length, as a streaming client does. */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('request bodies', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses a body over the bound with 413 and BAD_USER_INPUT, unread, and keeps serving', async () => {
    const unused = 'x'.repeat(9 * 1_048_576);
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ health { status } }', variables: { unused } }),
    });
    expect(response.status).toBe(413);
    const { errors } = (await response.json()) as Refusal;
    expect(errors[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'bodyBytes', max: 8 * 1_048_576 });
    expect((await server.query('{ health { status } }')).errors).toBeUndefined();
  });

  it('refuses a body of undeclared length with 411, and takes one that declares it', async () => {
    const body = JSON.stringify({ query: '{ health { status } }' });
    const chunked = await postChunked(server.url, [body.slice(0, 10), body.slice(10)]);
    expect(chunked.status).toBe(411);
    expect((JSON.parse(chunked.body) as Refusal).errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const declared = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(declared.status).toBe(200);
  });
});
