import type { Socket } from 'node:net';

/**
 * Counts a socket's flushes to its handle: each call of `_write`/`_writev` (the Writable
 * implementer's hooks) is one system call, whatever the reader's side merges.
 */
export function countFlushes(socket: Socket): { count: number } {
  const flushes = { count: 0 };
  const hooks = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
  for (const name of ['_write', '_writev'] as const) {
    const original = hooks[name].bind(socket);
    hooks[name] = (...args: unknown[]) => {
      flushes.count++;
      original(...args);
    };
  }
  return flushes;
}

/** Resolves after the immediates already queued: a turn's `setImmediate` uncork has run. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
