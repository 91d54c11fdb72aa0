import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { createDrainGate } from './drain-gate.js';

/** Lets settled promises run their callbacks: one turn of the event loop, not a wait. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `promise` has settled, after callbacks already due have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await nextTurn();
  return settled;
}

describe('drain gate', () => {
  it('takes generations until closed, then refuses them with SHUTTING_DOWN and a retry hint', () => {
    const gate = createDrainGate();
    expect(() => gate.assertOpen()).not.toThrow();
    expect(gate.closed).toBe(false);
    gate.close();
    expect(gate.closed).toBe(true);
    let error: unknown;
    try {
      gate.assertOpen();
    } catch (caught) {
      error = caught;
    }
    expect(AppError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'SHUTTING_DOWN', details: { retryAfterMs: 1_000 } });
  });

  it('is done at once when none of the messages has a reader here', async () => {
    const gate = createDrainGate();
    gate.enter('other');
    expect(await isSettled(gate.readersDone(['a', 'b'], new AbortController().signal))).toBe(true);
    expect(await isSettled(gate.readersDone([], new AbortController().signal))).toBe(true);
  });

  it('waits for every reader of the messages asked about, and only those', async () => {
    const gate = createDrainGate();
    const leaveA1 = gate.enter('a');
    const leaveA2 = gate.enter('a');
    const leaveB = gate.enter('b');
    const leaveOther = gate.enter('other');
    const done = gate.readersDone(['a', 'b'], new AbortController().signal);
    leaveA1();
    leaveA1(); // leaving twice counts once: the second reader of 'a' is still there
    leaveB();
    expect(await isSettled(done)).toBe(false);
    leaveA2();
    expect(await isSettled(done)).toBe(true);
    leaveOther();
  });

  it('stops waiting when the signal aborts', async () => {
    const gate = createDrainGate();
    gate.enter('a');
    const abort = new AbortController();
    const done = gate.readersDone(['a'], abort.signal);
    expect(await isSettled(done)).toBe(false);
    abort.abort();
    expect(await isSettled(done)).toBe(true);
    const aborted = new AbortController();
    aborted.abort();
    expect(await isSettled(gate.readersDone(['a'], aborted.signal))).toBe(true);
  });

  it('keeps serving readers after it closes', async () => {
    const gate = createDrainGate();
    gate.close();
    const leave = gate.enter('a');
    const done = gate.readersDone(['a'], new AbortController().signal);
    expect(await isSettled(done)).toBe(false);
    leave();
    expect(await isSettled(done)).toBe(true);
  });
});
