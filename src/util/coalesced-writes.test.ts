import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { countFlushes, nextTurn } from '../../test/helpers/socket-flushes.js';
import { coalesceWrites } from './coalesced-writes.js';

describe('coalesceWrites', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  /** A server socket and the client's received text; `setup` runs on the server socket first. */
  async function pair(setup: (socket: Socket) => void) {
    const server = createServer();
    closers.push(() => server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address() as { port: number };
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect(address.port, '127.0.0.1');
    closers.push(() => client.destroy());
    const [socket] = await accepted;
    closers.push(() => socket.destroy());
    setup(socket);
    let received = '';
    client.setEncoding('utf8');
    client.on('data', (text: string) => {
      received += text;
    });
    return { socket, received: () => received };
  }

  /** Five pieces, each written after an await, as a protocol reply written message by message. */
  async function writeInPieces(socket: Socket) {
    for (const piece of ['a', 'b', 'c', 'd', 'e']) {
      socket.write(piece);
      await Promise.resolve();
    }
  }

  it('sends the writes of one turn in one flush, and later turns in their own', async () => {
    let flushes = { count: 0 };
    const { socket, received } = await pair((s) => {
      flushes = countFlushes(s);
      coalesceWrites(s);
    });
    await writeInPieces(socket);
    await nextTurn();
    expect(flushes.count).toBe(1);
    socket.write('f');
    await nextTurn();
    expect(flushes.count).toBe(2);
    await expect.poll(received, { timeout: 30_000 }).toBe('abcdef');
  });

  it('is what makes the difference: without it each piece is its own flush', async () => {
    let flushes = { count: 0 };
    const { socket } = await pair((s) => {
      flushes = countFlushes(s);
    });
    await writeInPieces(socket);
    await nextTurn();
    expect(flushes.count).toBeGreaterThanOrEqual(5);
  });

  it('sends what was written before a destroy in the same turn', async () => {
    const { socket, received } = await pair(coalesceWrites);
    socket.write('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
    socket.destroy();
    await expect.poll(received, { timeout: 30_000 }).toBe('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
  });
});
