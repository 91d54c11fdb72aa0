import type { ServerResponse } from 'node:http';

export interface SseWriter {
  /** Writes one `data:` frame (and an `event:` line when named); resolves once the socket took it. */
  send(data: string, event?: string): Promise<void>;
  /** Ends the response (once; later calls do nothing). */
  end(): void;
}

/**
 * Server-sent events on a plain node:http response, with backpressure: a slow client slows the
 * upstream read instead of growing the buffer. Headers go out with the first frame.
 *
 * Frames written in one turn of the event loop leave in one socket write: the response is corked
 * at the first and uncorked once the turn's I/O callbacks ran. A socket write is the largest
 * single cost of a relayed token, and a stream's opening (headers, the role chunk, the first
 * token) would otherwise take one write each, each on the way to the first token.
 */
export function createSseWriter(response: ServerResponse, headers: Record<string, string>): SseWriter {
  let opened = false;
  let flush: NodeJS.Immediate | undefined;
  const uncork = () => {
    flush = undefined;
    response.uncork();
  };
  const open = () => {
    if (opened) return;
    opened = true;
    response.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  };
  return {
    send(data, event) {
      open();
      // After the end nothing is written (nor corked: the socket may serve the next request).
      if (response.destroyed || response.writableEnded) return Promise.resolve();
      if (flush === undefined) {
        response.cork();
        flush = setImmediate(uncork);
      }
      const frame = `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
      if (response.write(frame)) return Promise.resolve();
      // Past the high-water mark: 'drain' follows the uncork above, once the client read enough.
      return new Promise((resolve) => {
        const done = () => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.on('drain', done);
        response.on('close', done);
      });
    },
    end() {
      open();
      // Ending flushes what is corked, the last chunk with it, in one write.
      if (flush !== undefined) clearImmediate(flush);
      flush = undefined;
      if (!response.writableEnded) response.end();
    },
  };
}
