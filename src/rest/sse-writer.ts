import type { ServerResponse } from 'node:http';

export interface SseWriter {
  /** Writes one `data:` frame (and an `event:` line when named); resolves once the socket took it. */
  send(data: string, event?: string): Promise<void>;
  /** Ends the response (once; later calls do nothing). */
  end(): void;
}

/**
 * Server-sent events on a plain node:http response, with backpressure: a slow client slows the
 * upstream read instead of growing the buffer. Headers go out with the first frame. The server's
 * sockets send what one turn wrote in one system call (src/server.ts), so a stream's opening
 * (headers, the role chunk, the first token) and its end leave in one write each.
 */
export function createSseWriter(response: ServerResponse, headers: Record<string, string>): SseWriter {
  let opened = false;
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
      // After the end nothing is written: the socket may serve the next request.
      if (response.destroyed || response.writableEnded) return Promise.resolve();
      const frame = `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
      if (response.write(frame)) return Promise.resolve();
      // Past the high-water mark: 'drain' follows once the client read enough.
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
      if (!response.writableEnded) response.end();
    },
  };
}
