import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyCaller } from '../helpers/auth.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

/**
 * A GraphQL request's credential is checked before its body is read: an anonymous client that
 * declares a large body gets its 401 while it is still sending, so it cannot make the server
 * buffer and parse megabytes. Callers who sign in are served as before.
 */
const ADMIN_KEY = 'sk-sy-authenticate-first-admin-0123456789abcdef';
const ORIGIN = 'https://app.example.com';
/** A generous deadline for an answer that, without the check, would never come before the body. */
const ANSWER_DEADLINE_MS = 30_000;

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** POSTs headers and the first bytes of a body declared 8 MiB long, and waits for the answer without sending the rest. */
function sendPartOfABigBody(url: string, headers: Record<string, string>): Promise<Answer> {
  const declared = 8 * 1024 * 1024 - 1024;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('no answer before the body was sent: the body was read first')),
      ANSWER_DEADLINE_MS,
    );
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(declared), ...headers },
    });
    req.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.write(`{"query":"{ health { status } }","variables":{"padding":"${'x'.repeat(64 * 1024)}`);
  });
}

describe('a GraphQL body from a caller who cannot sign in', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SWITCHYARD_ADMIN_KEY: ADMIN_KEY, CORS_ORIGINS: ORIGIN });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is refused with 401 UNAUTHENTICATED before the rest of it arrives', async () => {
    for (const authorization of [undefined, 'Bearer sk-sy-not-a-key-at-all-0123456789']) {
      const answer = await sendPartOfABigBody(server.url, authorization ? { authorization } : {});
      expect(answer.status, String(authorization)).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="switchyard"');
      expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    }
  });

  it('carries the CORS headers a listed origin needs to read the refusal, and none for another', async () => {
    const listed = await sendPartOfABigBody(server.url, { origin: ORIGIN });
    expect(listed.status).toBe(401);
    expect(listed.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(listed.headers['access-control-allow-credentials']).toBe('true');
    const other = await sendPartOfABigBody(server.url, { origin: 'https://elsewhere.example' });
    expect(other.status).toBe(401);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('leaves a caller with a valid key served as before', async () => {
    const caller = await keyCaller(server.app.database.prisma, 'authenticate-first-user');
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: caller.authorization },
      body: JSON.stringify({ query: '{ viewer { user { name } } }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { viewer: { user: { name: 'authenticate-first-user' } } } });
  });
});
