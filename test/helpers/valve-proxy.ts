import { connect, createServer, type Socket } from 'node:net';

/**
 * A loopback TCP proxy whose upstream-to-client direction a test can hold and release, so a
 * streaming provider's reply pauses exactly while the test looks at something (a drain under
 * way) and resumes when it says: no guess about how long a paced stream takes.
 */
export interface ValveProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** From now on, bytes from the upstream wait here, in order. */
  hold(): void;
  /**
   * Each connection (open or new) lets bytes through until what it passed matches `pattern`,
   * then holds: e.g. every stream delivers its first token, then pauses.
   */
  holdAfter(pattern: RegExp): void;
  /** Delivers what waited, then lets bytes through again. */
  release(): void;
  close(): Promise<void>;
}

export async function startValveProxy(target: { host: string; port: number }): Promise<ValveProxy> {
  const sockets = new Set<Socket>();
  /** Per connection, what arrived from upstream while held (a chunk, or null for its end). */
  const waiting = new Map<Socket, (Buffer | null)[]>();
  /** Per connection, the text it passed while a `holdAfter` pattern is set, and whether it matched. */
  const passed = new Map<Socket, { text: string; matched: boolean }>();
  let held = false;
  let pattern: RegExp | undefined;

  const deliver = (client: Socket, chunk: Buffer | null) => {
    if (chunk === null) client.end();
    else client.write(chunk);
  };

  const server = createServer((client) => {
    const upstream = connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!waiting.has(client)) client.destroy();
    });
    client.pipe(upstream);
    const pass = (chunk: Buffer | null) => {
      const queue = waiting.get(client);
      const seen = passed.get(client) ?? { text: '', matched: false };
      if (held || queue || seen.matched) {
        if (queue) queue.push(chunk);
        else waiting.set(client, [chunk]);
        return;
      }
      deliver(client, chunk);
      if (pattern && chunk) {
        seen.text += chunk.toString('latin1');
        seen.matched = pattern.test(seen.text);
        passed.set(client, seen);
      }
    };
    upstream.on('data', (chunk: Buffer) => pass(chunk));
    upstream.on('end', () => pass(null));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    hold() {
      held = true;
    },
    holdAfter(next) {
      pattern = next;
      passed.clear();
    },
    release() {
      held = false;
      pattern = undefined;
      passed.clear();
      for (const [client, queue] of [...waiting]) {
        waiting.delete(client);
        for (const chunk of queue) deliver(client, chunk);
      }
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
