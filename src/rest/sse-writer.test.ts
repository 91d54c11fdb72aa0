import { once } from 'node:events';
import { createServer, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { countFlushes, nextTurn } from '../../test/helpers/socket-flushes.js';
import { coalesceWrites } from '../util/coalesced-writes.js';
import { createSseWriter } from './sse-writer.js';

describe('createSseWriter', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  /**
   * Serves one request with `handle` and returns the raw body the client read; `received` is
   * what it has read so far (a flush is counted once its bytes arrived, whenever that is).
   */
  async function serve(
    handle: (response: ServerResponse, flushes: { count: number }, received: () => string) => Promise<void>,
  ) {
    let handled: Promise<void> = Promise.resolve();
    let body = '';
    const server = createServer((_request, response) => {
      handled = handle(response, countFlushes(response.socket as Socket), () => body);
    });
    // As src/server.ts serves every connection.
    server.on('connection', coalesceWrites);
    closers.push(() => server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const response = await new Promise<import('node:http').IncomingMessage>((resolve) =>
      request({ port, host: '127.0.0.1' }, resolve).end(),
    );
    response.setEncoding('utf8');
    for await (const piece of response) body += piece;
    await handled;
    return { status: response.statusCode, type: response.headers['content-type'], body };
  }

  it('sends the headers and the frames of one turn in one write, and the end with what is left', async () => {
    const seen: number[] = [];
    const answer = await serve(async (response, flushes, received) => {
      const arrived = (text: string) => expect.poll(received, { timeout: 30_000 }).toContain(text);
      const sse = createSseWriter(response, { 'x-request-id': 'r1' });
      // The opening as a stream writes it: the role chunk, then the first token after an await.
      await sse.send('{"role":"assistant"}');
      await sse.send('{"content":"Hel"}');
      await arrived('Hel');
      seen.push(flushes.count);
      await sse.send('{"content":"lo"}');
      await arrived('lo');
      seen.push(flushes.count);
      await sse.send('{"finish":"stop"}');
      await sse.send('[DONE]');
      sse.end();
      await arrived('[DONE]');
      seen.push(flushes.count);
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('text/event-stream; charset=utf-8');
    expect(answer.body).toBe(
      'data: {"role":"assistant"}\n\ndata: {"content":"Hel"}\n\ndata: {"content":"lo"}\n\ndata: {"finish":"stop"}\n\ndata: [DONE]\n\n',
    );
  });

  it('ends an empty stream with its headers', async () => {
    const answer = await serve(async (response) => {
      createSseWriter(response, {}).end();
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
  });

  it('writes and corks nothing after the end: the socket may serve the next request', async () => {
    const corked: number[] = [];
    const answer = await serve(async (response) => {
      const socket = response.socket as Socket;
      const sse = createSseWriter(response, {});
      await sse.send('{"content":"last"}');
      sse.end();
      await sse.send('{"content":"too late"}');
      await nextTurn();
      corked.push(socket.writableCorked);
    });
    expect(corked).toEqual([0]);
    expect(answer.body).toBe('data: {"content":"last"}\n\n');
  });
});
