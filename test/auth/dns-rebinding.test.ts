/**
 * The loopback default serves requests without a credential, so a page whose DNS name was
 * rebound to 127.0.0.1 (same-origin to the browser, so CORS and CSRF checks do not apply) must
 * not get it: without a credential only loopback host names are served, over HTTP and WebSocket.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const QUERY = JSON.stringify({ query: '{ memories(first: 1) { edges { node { id } } } }' });

/** POSTs with a chosen Host header (fetch does not let a caller set it). */
function postWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(QUERY) },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(QUERY);
  });
}

/** Opens a graphql-ws socket with a chosen Host (and a matching Origin, as a rebound page sends). */
function socketCloseCode(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { headers: { host, origin: `http://${host}` } });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') ws.close(1000);
    });
    ws.on('close', (code) => resolve(code));
    ws.on('error', reject);
  });
}

describe('the loopback default and DNS rebinding', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('serves loopback host names without a credential', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'localhost', '[::1]:4000']) {
      const reply = await postWithHost(server.url, host);
      expect(reply.status, host).toBe(200);
      expect(JSON.parse(reply.body).data.memories.edges).toEqual([]);
    }
    expect(await socketCloseCode(server.wsUrl, `localhost:${server.port}`)).toBe(1000);
  });

  it('refuses any other host name with 401 UNAUTHENTICATED, over HTTP and WebSocket', async () => {
    for (const host of [`evil.example:${server.port}`, 'evil.example', '127.0.0.1.evil.example', '192.168.1.10:4000']) {
      const reply = await postWithHost(server.url, host);
      expect(reply.status, host).toBe(401);
      const body = JSON.parse(reply.body);
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? undefined).toBeUndefined();
    }
    expect(await socketCloseCode(server.wsUrl, `evil.example:${server.port}`)).toBe(4403);
  });
});
