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
      if (response.destroyed) return Promise.resolve();
      const frame = `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
      if (response.write(frame)) return Promise.resolve();
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
