import { inspect } from 'node:util';

/** Below vitest's test timeout (120 s), so that a wait that gives up says what it waited for. */
const DEFAULT_TIMEOUT_MS = 60_000;

export interface EventuallyOptions {
  /** How long to keep polling before failing; generous, so a loaded machine still passes. */
  timeoutMs?: number;
  everyMs?: number;
  /** What the test waits for, named in the failure. Defaults to the predicate's source. */
  what?: string;
}

/**
 * Polls until the predicate holds and returns the value that satisfied it. At the deadline it
 * throws, naming what it waited for and the last value seen: a wait that quietly returned the
 * last value would let the assertion after it fail for an unclear reason, or pass by accident.
 *
 * @example await eventually(() => countReady(), (n) => n === 3, { what: 'three READY documents' })
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  ok: (value: T) => boolean,
  options: number | EventuallyOptions = {},
  everyMs = 50,
): Promise<T> {
  const opts = typeof options === 'number' ? { timeoutMs: options, everyMs } : options;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      const what = opts.what ?? ok.toString();
      throw new Error(
        `eventually: still waiting after ${timeoutMs} ms for ${what}; last value: ${inspect(value, { depth: 4 })}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs ?? everyMs));
  }
}

/** Waits until `condition` returns true; a shorthand for conditions with no value worth returning. */
export async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = DEFAULT_TIMEOUT_MS) {
  await eventually(condition, Boolean, { what, timeoutMs });
}
