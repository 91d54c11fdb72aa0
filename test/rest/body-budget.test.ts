import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type BodyBudget, readJsonBody } from '../../src/rest/rest-api.js';
import { eventually } from '../helpers/eventually.js';

/**
 * The shared bound on request body bytes held in memory (`rest.maxBodyBytesInFlight`), through
 * real sockets: what counts is what has arrived, so a sender that declares a large body and sends
 * it slowly (or never) holds nothing, and others' bodies still fit.
 */
describe('the body bytes in flight', () => {
  let server: Server | undefined;
  const sockets: ReturnType<typeof connect>[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function serve(budget: BodyBudget) {
    let reading = 0;
    server = createServer(async (request, response) => {
      reading++;
      const result = await readJsonBody(request, 10_000, { timeoutMs: 60_000, budget });
      response.writeHead(result.ok ? 200 : result.status).end(result.ok ? 'ok' : result.message);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, reading: () => reading };
  }

  it('counts bytes as they arrive, not as declared: declared-but-unsent bodies leave room for others', async () => {
    const budget: BodyBudget = { max: 1_000, used: 0 };
    const { port, reading } = await serve(budget);
    // Three senders each declare 900 bytes and send 10: the declared total is far past the bound.
    for (let i = 0; i < 3; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{"a":"1234`,
      );
      sockets.push(socket);
    }
    await eventually(
      async () => reading(),
      (n) => n === 3,
      { what: 'the server to read the three slow bodies' },
    );
    await eventually(
      async () => budget.used,
      (used) => used === 30,
      { what: 'the ten bytes each has sent to count' },
    );
    const body = JSON.stringify({ text: 'x'.repeat(500) });
    const answer = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(answer.status, await answer.text()).toBe(200);
  });

  it('refuses with 429 once the bytes that did arrive pass the bound, and gives them back', async () => {
    const budget: BodyBudget = { max: 1_000, used: 0 };
    const { port, reading } = await serve(budget);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    sockets.push(socket);
    socket.write(
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{"a":"${'y'.repeat(900)}`,
    );
    await eventually(
      async () => budget.used,
      (used) => used >= 900,
      { what: 'the 900 bytes sent to count' },
    );
    const answer = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(500) }),
    });
    expect(answer.status).toBe(429);
    expect(budget.used).toBeGreaterThanOrEqual(900);
    socket.destroy();
    await eventually(
      async () => budget.used,
      (used) => used === 0,
      { what: 'the cut body to give its bytes back' },
    );
    expect(reading()).toBe(2);
  });
});
