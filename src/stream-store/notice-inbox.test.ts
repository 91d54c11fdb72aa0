import { describe, expect, it } from 'vitest';
import { createNoticeInbox } from './notice-inbox.js';

/** Whether `promise` has settled once the microtasks queued so far have run. */
async function settled(promise: Promise<unknown>) {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

function drain<T>(inbox: { shift(): T | undefined }) {
  const taken: T[] = [];
  for (let value = inbox.shift(); value !== undefined; value = inbox.shift()) taken.push(value);
  return taken;
}

describe('notice inbox', () => {
  it('hands notices out in the order they came, across its compactions', () => {
    const inbox = createNoticeInbox<number>(5_000);
    const taken: number[] = [];
    for (let n = 1; n <= 3_000; n++) {
      inbox.push(n);
      // Take two for every three pushed, so the queue both grows and passes its compaction point.
      if (n % 3 !== 0) taken.push(inbox.shift() as number);
    }
    taken.push(...drain(inbox));
    expect(taken).toEqual(Array.from({ length: 3_000 }, (_, i) => i + 1));
    expect(inbox.shift()).toBeUndefined();
    expect(inbox.takeStale()).toBe(false);
  });

  it('drops everything and marks itself stale when a push finds it full', () => {
    const inbox = createNoticeInbox<number>(3);
    for (const n of [1, 2, 3]) inbox.push(n);
    expect(inbox.takeStale()).toBe(false);
    inbox.push(4);
    expect(inbox.shift()).toBeUndefined();
    expect(inbox.takeStale()).toBe(true);
    expect(inbox.takeStale()).toBe(false);
    // Room again: the reader re-reads the stream, then follows the notices that come after.
    inbox.push(5);
    expect(drain(inbox)).toEqual([5]);
  });

  it('counts only what is still queued against its capacity', () => {
    const inbox = createNoticeInbox<number>(2);
    inbox.push(1);
    inbox.push(2);
    expect(inbox.shift()).toBe(1);
    inbox.push(3);
    expect(inbox.takeStale()).toBe(false);
    expect(drain(inbox)).toEqual([2, 3]);
  });

  it('waits until a push, a stale mark or close, and not while something is there', async () => {
    const inbox = createNoticeInbox<string>(4);
    const forPush = inbox.wait();
    expect(await settled(forPush)).toBe(false);
    inbox.push('a');
    expect(await settled(forPush)).toBe(true);
    expect(await settled(inbox.wait())).toBe(true);
    inbox.shift();

    const forStale = inbox.wait();
    expect(await settled(forStale)).toBe(false);
    inbox.markStale();
    expect(await settled(forStale)).toBe(true);
    expect(await settled(inbox.wait())).toBe(true);
    expect(inbox.takeStale()).toBe(true);

    const forClose = inbox.wait();
    expect(await settled(forClose)).toBe(false);
    inbox.close();
    expect(await settled(forClose)).toBe(true);
    expect(inbox.closed).toBe(true);
    expect(await settled(inbox.wait())).toBe(true);
  });

  it('stops waiting when the signal aborts, and then a push wakes the next wait', async () => {
    const inbox = createNoticeInbox<string>(4);
    const controller = new AbortController();
    const waiting = inbox.wait(controller.signal);
    expect(await settled(waiting)).toBe(false);
    controller.abort();
    expect(await settled(waiting)).toBe(true);
    expect(await settled(inbox.wait(controller.signal))).toBe(true);

    const next = inbox.wait();
    inbox.push('b');
    expect(await settled(next)).toBe(true);
    expect(drain(inbox)).toEqual(['b']);
  });

  it('ignores pushes once closed', () => {
    const inbox = createNoticeInbox<number>(4);
    inbox.push(1);
    inbox.close();
    inbox.push(2);
    expect(drain(inbox)).toEqual([1]);
  });
});
