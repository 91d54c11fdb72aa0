import { onTestFinished } from 'vitest';

/** Cleanups of resources started in a suite hook (beforeAll): run when the test file ends. */
const atFileEnd = new Set<() => Promise<void>>();

/**
 * Makes sure `stop` runs even when the test that started the resource fails or times out (a
 * timed-out test's own `finally` never runs, and its server would serve the next test). Started
 * inside a test, it stops when that test finishes; started in a hook, when the file ends
 * (`setup-cleanup.ts`). `stop` must be idempotent: the test usually stops it first.
 */
export function stopWhenDone(stop: () => Promise<void>): void {
  const run = async () => {
    atFileEnd.delete(run);
    await stop();
  };
  atFileEnd.add(run);
  try {
    onTestFinished(run);
  } catch {
    // Not inside a test (a beforeAll): the file's end runs it.
  }
}

/** Stops everything still registered; the setup file runs it after each test file. */
export async function stopAll(): Promise<void> {
  const errors: unknown[] = [];
  for (const run of [...atFileEnd]) await run().catch((error) => errors.push(error));
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup at the end of the test file failed');
}
