import { once } from 'node:events';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { writeConfigFile } from './helpers/config-file.js';
import { eventually } from './helpers/eventually.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/** A raw graphql-transport-ws socket; resolves once open, or with the HTTP status that refused the upgrade. */
async function openSocket(url: string): Promise<{ socket: WebSocket } | { refused: number }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_request, response) => resolve({ refused: response.statusCode ?? 0 }));
    socket.once('error', reject);
  });
}

describe('WebSocket limits: payload, operations per socket, sockets per address', () => {
  let server: TestServer;
  let config: ReturnType<typeof writeConfigFile>;
  const open: WebSocket[] = [];
  beforeAll(async () => {
    config = writeConfigFile({ graphql: { websocket: { maxSubscriptions: 2, maxSocketsPerAddress: 3 } } });
    server = await startTestServer({ SWITCHYARD_CONFIG: config.path });
  });
  afterAll(async () => {
    for (const socket of open) socket.terminate();
    await server?.close();
    config?.cleanup();
  });

  const healthOver = async (url: string) => {
    const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      return await new Promise<unknown>((resolve, reject) => {
        client.subscribe(
          { query: '{ health { database { status } } }' },
          { next: resolve, error: reject, complete: () => {} },
        );
      });
    } finally {
      await client.dispose();
    }
  };

  it('closes a socket that sends a frame over 1 MiB with 1009, and serves the next one', async () => {
    const opened = await openSocket(server.wsUrl);
    if (!('socket' in opened)) throw new Error(`upgrade refused: ${opened.refused}`);
    const closed = once(opened.socket, 'close');
    opened.socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(1_100_000) } }));
    const [code] = await closed;
    expect(code).toBe(1009);
    expect(await healthOver(server.wsUrl)).toEqual({ data: { health: { database: { status: 'ok' } } } });
  });

  it('refuses a third operation at once on one socket with BAD_USER_INPUT, and takes one after another ends', async () => {
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    try {
      const quiet = { next: () => {}, error: () => {}, complete: () => {} };
      client.subscribe({ query: 'subscription { providerHealth { name } }' }, quiet);
      const second = client.subscribe({ query: 'subscription { providerHealth { name } }' }, quiet);
      const third = await new Promise<{ extensions?: unknown }[]>((resolve) => {
        client.subscribe({ query: '{ health { status } }' }, { next: () => {}, error: resolve, complete: () => {} });
      });
      expect(third[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'subscriptions', max: 2 });
      second(); // completes it on the server
      const after = await new Promise((resolve, reject) => {
        client.subscribe({ query: '{ health { status } }' }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(after).toMatchObject({ data: { health: { status: expect.any(String) } } });
    } finally {
      await client.dispose();
    }
  });

  it('refuses a fourth socket from one address with HTTP 429, and takes one after another closes', async () => {
    for (let i = 0; i < 3; i++) {
      const opened = await openSocket(server.wsUrl);
      if (!('socket' in opened)) throw new Error(`socket ${i + 1} refused: ${opened.refused}`);
      // initialised, so that graphql-ws does not close it for waiting too long
      opened.socket.send(JSON.stringify({ type: 'connection_init' }));
      open.push(opened.socket);
    }
    expect(await openSocket(server.wsUrl)).toEqual({ refused: 429 });
    open.pop()?.close();
    const next = await eventually(
      () => openSocket(server.wsUrl),
      (r) => 'socket' in r,
      { what: 'a socket to be accepted once one of three closed' },
    );
    if ('socket' in next) open.push(next.socket);
  });
});
