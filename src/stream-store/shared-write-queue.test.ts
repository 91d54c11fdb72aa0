import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createSharedWriteQueue } from './shared-write-queue.js';

/** A promise with its resolve at hand. */
function signal() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Writes that record when they start and finish; a held one waits for its `release`.
 * `failuresOf[name]` attempts fail first (as writes to an unreachable Redis do).
 */
function writes() {
  const log: string[] = [];
  const releases = new Map<string, () => void>();
  const signals = new Map<string, ReturnType<typeof signal>>();
  const failuresOf: Record<string, number> = {};
  /** The next `start` or `done` of a write, or the last one if nothing has looked at it since. */
  const next = (key: string) => {
    let s = signals.get(key);
    if (!s) {
      s = signal();
      signals.set(key, s);
    }
    return s;
  };
  const record = (key: string) => {
    log.push(key);
    next(key).resolve();
  };
  const make =
    (name: string, held = true) =>
    async () => {
      record(`start ${name}`);
      if (held) {
        const { promise, resolve } = signal();
        releases.set(name, resolve);
        await promise;
      }
      signals.delete(`start ${name}`); // a retry is a new start
      if ((failuresOf[name] ?? 0) > 0) {
        failuresOf[name] = (failuresOf[name] ?? 0) - 1;
        log.push(`fail ${name}`);
        throw new Error('Connection is closed.');
      }
      record(`done ${name}`);
    };
  return {
    log,
    failuresOf,
    make,
    started: (name: string) => next(`start ${name}`).promise,
    done: (name: string) => next(`done ${name}`).promise,
    release: (name: string) => releases.get(name)?.(),
  };
}

describe('shared write queue', () => {
  it("runs one message's writes one at a time in order, and other messages' beside them", async () => {
    const queue = createSharedWriteQueue();
    const w = writes();
    queue.push('m1', w.make('a'));
    queue.push('m1', w.make('b'));
    queue.push('m2', w.make('x'));
    await Promise.all([w.started('a'), w.started('x')]);
    expect(w.log).toEqual(['start a', 'start x']);
    expect(queue.pending).toBe(2);
    w.release('x');
    await queue.settled('m2');
    expect(queue.pending).toBe(1);
    w.release('a');
    await w.started('b');
    expect(w.log).toEqual(['start a', 'start x', 'done x', 'done a', 'start b']);
    w.release('b');
    await queue.settled('m1');
    expect(w.log.at(-1)).toBe('done b');
    expect(queue.pending).toBe(0);
  });

  it('retries a failing write until it lands, holding the later ones back, and says so once per outage', async () => {
    const attempts: number[] = [];
    const failing: string[] = [];
    const queue = createSharedWriteQueue({
      retryDelayMs: (attempt) => {
        attempts.push(attempt);
        return 0;
      },
      onFailing: (messageId, error) => failing.push(`${messageId}: ${(error as Error).message}`),
    });
    const w = writes();
    w.failuresOf.a = 3;
    w.failuresOf.c = 1;
    for (const name of ['a', 'b', 'c']) queue.push('m', w.make(name, false));
    await w.done('c');
    // Seen at once a write was retried on its own, and each attempt count starts again after a success.
    expect(w.log).toEqual([
      ...['start a', 'fail a', 'start a', 'fail a', 'start a', 'fail a', 'start a', 'done a'],
      ...['start b', 'done b', 'start c', 'fail c', 'start c', 'done c'],
    ]);
    expect(attempts).toEqual([0, 1, 2, 0]);
    expect(failing).toEqual(['m: Connection is closed.', 'm: Connection is closed.']);
  });

  it('settles at once with nothing queued, when the writes are done, or as soon as one fails', async () => {
    const queue = createSharedWriteQueue({ retryDelayMs: () => 0 });
    await queue.settled('nothing queued');
    const w = writes();
    w.failuresOf.a = 1;
    queue.push('m', w.make('a'));
    let settled = false;
    const settling = queue.settled('m').then(() => {
      settled = true;
    });
    await w.started('a');
    await nextTurn();
    expect(settled).toBe(false);
    w.release('a');
    // The caller is not held through the outage: the write goes on being retried behind it.
    await settling;
    expect(w.log).toEqual(['start a', 'fail a']);
    expect(queue.pending).toBe(1);
    await w.started('a');
    await queue.settled('m'); // still failing: at once
    expect(w.log).toEqual(['start a', 'fail a', 'start a']);
    w.release('a');
    await w.done('a');
    await nextTurn(); // the queue is let go in the microtasks after its last write
    expect(queue.pending).toBe(0);

    queue.push('m', w.make('b'));
    const afterOutage = queue.settled('m');
    await w.started('b');
    w.release('b');
    await afterOutage;
    expect(w.log.at(-1)).toBe('done b');
  });

  it('closes once every queue has emptied, and then takes no more writes', async () => {
    const queue = createSharedWriteQueue();
    const w = writes();
    queue.push('m', w.make('a'));
    queue.push('m', w.make('b'));
    await w.started('a');
    const closing = queue.close(60_000);
    w.release('a');
    await w.started('b');
    w.release('b');
    expect(await closing).toEqual([]);
    queue.push('m', w.make('late', false));
    await nextTurn();
    expect(w.log).toEqual(['start a', 'done a', 'start b', 'done b']);
    expect(queue.pending).toBe(0);
  });

  it('gives up at close what is still held back, without another attempt', async () => {
    const queue = createSharedWriteQueue({ retryDelayMs: () => 3_600_000 });
    const w = writes();
    w.failuresOf.down = Number.POSITIVE_INFINITY;
    queue.push('down', w.make('down', false));
    queue.push('down', w.make('after down', false));
    queue.push('hung', w.make('hung'));
    queue.push('hung', w.make('after hung', false));
    await Promise.all([w.started('hung'), queue.settled('down')]);
    expect(await queue.close(0)).toEqual(['down', 'hung']);
    expect(queue.pending).toBe(0);
    // The write in flight ends on its own; nothing queued behind either is attempted.
    w.release('hung');
    await nextTurn();
    expect(w.log).toEqual(['start down', 'fail down', 'start hung', 'done hung']);
  });
});
