import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import {
  type MessageEnd,
  type MessageStreamEvent,
  type MessageStreamStore,
  StreamLagError,
  type StreamStoreOptions,
} from '../../src/stream-store/index.js';
import { collect, completed, delta, eventually, expected, jitter, writeDeltas } from './stream-store-helpers.js';

export type StreamStoreFactory = (options?: StreamStoreOptions) => MessageStreamStore;

export interface ConformanceHooks {
  /**
   * Resolves once a reader started on `messageId` would see a write made now (a Redis reader:
   * once its subscription is confirmed). Without it, a reader is taken to listen as soon as it starts.
   */
  listening?(messageId: string): Promise<void>;
}

/**
 * The behaviour every MessageStreamStore must show, whatever holds the events. Call inside a
 * `describe`; each test gets a fresh store (closed afterwards) and its own message id. No test
 * waits a fixed time: each waits for the condition it needs (an event seen, a reader listening).
 */
export function streamStoreConformance(factory: StreamStoreFactory, hooks: ConformanceHooks = {}) {
  const listening = async (messageId: string) => hooks.listening?.(messageId);
  const open: MessageStreamStore[] = [];
  const makeStore = (options?: StreamStoreOptions) => {
    const store = factory(options);
    open.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });

  it('replays from 0 and from mid-stream, ending after the end event', async () => {
    const store = makeStore();
    const id = randomUUID();
    await writeDeltas(store, id, 1, 5);
    await store.end(completed(id));
    expect(await collect(store.read(id, 0))).toEqual(expected(id, 1, 5, completed(id)));
    expect(await collect(store.read(id, 3))).toEqual(expected(id, 4, 5, completed(id)));
  });

  it('gives just the end event from the last seq or beyond, and keeps its code and error', async () => {
    const store = makeStore();
    const id = randomUUID();
    const failed: MessageEnd = { kind: 'failed', messageId: id, code: 'UPSTREAM_ERROR', error: 'boom "quoted"' };
    await writeDeltas(store, id, 1, 4);
    await store.end(failed);
    expect(await collect(store.read(id, 4))).toEqual([failed]);
    expect(await collect(store.read(id, 9))).toEqual([failed]);
  });

  it('ends a stream that never had a delta', async () => {
    const store = makeStore();
    const id = randomUUID();
    const cancelled: MessageEnd = { kind: 'failed', messageId: id, code: 'CANCELLED', error: 'Cancelled' };
    await store.end(cancelled);
    expect(await collect(store.read(id, 0))).toEqual([cancelled]);
  });

  it('follows live after replaying', async () => {
    const store = makeStore();
    const id = randomUUID();
    await writeDeltas(store, id, 1, 2);
    let replayed!: () => void;
    const caughtUp = new Promise<void>((resolve) => {
      replayed = resolve;
    });
    const reading = collect(store.read(id, 0), (event) => event.kind === 'delta' && event.seq === 2 && replayed());
    await caughtUp;
    for (let seq = 3; seq <= 6; seq++) {
      await jitter();
      await store.appendDelta(delta(id, seq));
    }
    await store.end(completed(id));
    expect(await reading).toEqual(expected(id, 1, 6, completed(id)));
  });

  it('waits for a writer that has not started yet', async () => {
    const store = makeStore();
    const id = randomUUID();
    const reading = collect(store.read(id, 0));
    await listening(id);
    await writeDeltas(store, id, 1, 3);
    await store.end(completed(id));
    expect(await reading).toEqual(expected(id, 1, 3, completed(id)));
  });

  it('gives every reader exactly its deltas, whenever it starts against a concurrent writer', async () => {
    const store = makeStore();
    const id = randomUUID();
    const total = 500;
    let written = 0;
    const writer = (async () => {
      for (let seq = 1; seq <= total; seq++) {
        await store.appendDelta(delta(id, seq));
        written = seq;
        await jitter();
      }
      await store.end(completed(id));
    })();
    const readers = Array.from({ length: 40 }, async (_, i) => {
      for (let turns = Math.floor(Math.random() * 400); turns > 0 && written < total; turns--) await jitter();
      // Half at the live edge, where the subscribe-then-read race is; half anywhere behind it.
      const afterSeq = i % 2 === 0 ? written : Math.floor(Math.random() * (written + 1));
      // A reader that missed an event would wait forever: bound it so the assertion shows what it got.
      return { afterSeq, events: await collect(store.read(id, afterSeq, AbortSignal.timeout(10_000))) };
    });
    await writer;
    for (const { afterSeq, events } of await Promise.all(readers)) {
      expect(events).toEqual(expected(id, afterSeq + 1, total, completed(id)));
    }
  });

  it('gives the end to readers started at any moment around it', async () => {
    const store = makeStore();
    for (let round = 0; round < 40; round++) {
      const id = randomUUID();
      await writeDeltas(store, id, 1, 2);
      const signal = AbortSignal.timeout(5_000);
      const readers = [collect(store.read(id, 2, signal)), collect(store.read(id, 0, signal))];
      for (let turns = round % 5; turns > 0; turns--) await jitter();
      await store.end(completed(id));
      expect(await Promise.all(readers)).toEqual([[completed(id)], expected(id, 1, 2, completed(id))]);
    }
  });

  it('serves many concurrent readers of one message', async () => {
    const store = makeStore();
    const id = randomUUID();
    const readers = Array.from({ length: 50 }, () => collect(store.read(id, 0)));
    await writeDeltas(store, id, 1, 20);
    await store.end(completed(id));
    for (const events of await Promise.all(readers)) expect(events).toEqual(expected(id, 1, 20, completed(id)));
  });

  it('returns when aborted while waiting', async () => {
    const store = makeStore();
    const id = randomUUID();
    await writeDeltas(store, id, 1, 2);
    const controller = new AbortController();
    const seen: MessageStreamEvent[] = [];
    const reading = collect(store.read(id, 0, controller.signal), (event) => seen.push(event));
    await eventually(() => seen.length === 2);
    // A reader that ignored the abort would keep this test waiting until it times out.
    controller.abort();
    await reading;
    expect(seen).toEqual(expected(id, 1, 2));

    const unseen = new AbortController();
    const unseenId = randomUUID();
    const waiting = collect(store.read(unseenId, 0, unseen.signal));
    await listening(unseenId);
    unseen.abort();
    expect(await waiting).toEqual([]);
    expect(await collect(store.read(id, 0, AbortSignal.abort()))).toEqual([]);

    // The store still serves the message after its readers left.
    await store.appendDelta(delta(id, 3, 't3 '));
    await store.end(completed(id));
    expect(await collect(store.read(id, 1))).toEqual(expected(id, 2, 3, completed(id)));
  });

  it('keeps working after a reader stops early', async () => {
    const store = makeStore();
    const id = randomUUID();
    await writeDeltas(store, id, 1, 3);
    for await (const event of store.read(id, 0)) {
      expect(event).toEqual(delta(id, 1));
      break;
    }
    const reading = collect(store.read(id, 1));
    await store.end(completed(id));
    expect(await reading).toEqual(expected(id, 2, 3, completed(id)));
  });

  it('throws StreamLagError for trimmed deltas, and the error says where to resume', async () => {
    const store = makeStore({ maxDeltas: 10 });
    const id = randomUUID();
    await writeDeltas(store, id, 1, 300);
    await store.end(completed(id));
    const error = await collect(store.read(id, 0)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamLagError);
    const lag = error as StreamLagError;
    expect(lag).toMatchObject({ messageId: id, requestedAfterSeq: 0 });
    expect(lag.oldestSeq).toBeGreaterThan(1);
    expect(lag.oldestSeq).toBeLessThanOrEqual(291);
    expect(await collect(store.read(id, lag.oldestSeq - 1))).toEqual(expected(id, lag.oldestSeq, 300, completed(id)));
    expect(await collect(store.read(id, 295))).toEqual(expected(id, 296, 300, completed(id)));
  });

  it('drops an ended stream endedTtlMs after its end', async () => {
    const store = makeStore({ endedTtlMs: 100 });
    const id = randomUUID();
    await writeDeltas(store, id, 1, 3);
    // Caught up before the end, so the end reaches it however soon the stream expires after.
    let caughtUp!: () => void;
    const atThree = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    const reading = collect(store.read(id, 0), (event) => event.kind === 'delta' && event.seq === 3 && caughtUp());
    await atThree;
    await store.end(completed(id));
    expect(await reading).toEqual(expected(id, 1, 3, completed(id)));
    // Gone: a read now waits live, as for a message never seen, until it is stopped.
    await eventually(async () => (await collect(store.read(id, 0, AbortSignal.timeout(500)))).length === 0);
  });

  it('does not let a slow reader delay the writer or a fast reader', async () => {
    const store = makeStore();
    const id = randomUUID();
    const total = 300;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The slow reader holds on to its first event until released.
    let slowSeen = 0;
    const slow = collect(store.read(id, 0), () => {
      slowSeen++;
      return gate;
    });
    const fast = collect(store.read(id, 0));
    await listening(id);
    await writeDeltas(store, id, 1, total);
    await store.end(completed(id));
    // The writer and the fast reader are done while the slow reader still holds at most one event.
    expect(await fast).toEqual(expected(id, 1, total, completed(id)));
    expect(slowSeen).toBeLessThanOrEqual(1);
    release();
    expect(await slow).toEqual(expected(id, 1, total, completed(id)));
  });

  it('lets the first end win and drops deltas after it', async () => {
    const store = makeStore();
    const id = randomUUID();
    await writeDeltas(store, id, 1, 2);
    const cancelled: MessageEnd = { kind: 'failed', messageId: id, code: 'CANCELLED', error: 'Cancelled' };
    await store.end(cancelled);
    await store.end(completed(id));
    await store.appendDelta(delta(id, 3, 'late'));
    expect(await collect(store.read(id, 0))).toEqual([...expected(id, 1, 2), cancelled]);
  });

  it('rejects a delta out of order and a bad afterSeq', async () => {
    const store = makeStore();
    const id = randomUUID();
    await writeDeltas(store, id, 1, 2);
    await expect(store.appendDelta(delta(id, 4, 'skipped 3'))).rejects.toThrow(/does not follow 2/);
    await expect(store.appendDelta(delta(id, 2, 'again'))).rejects.toThrow();
    await expect(store.appendDelta(delta(id, 0, 'zero'))).rejects.toThrow(RangeError);
    await expect(collect(store.read(id, -1))).rejects.toThrow(RangeError);
    await expect(collect(store.read(id, 1.5))).rejects.toThrow(RangeError);
    await store.appendDelta(delta(id, 3, 't3 '));
    await store.end(completed(id));
    expect(await collect(store.read(id, 0))).toEqual(expected(id, 1, 3, completed(id)));
  });

  it('ends waiting readers when closed', async () => {
    const store = factory();
    const id = randomUUID();
    const reading = collect(store.read(id, 0));
    await listening(id);
    await store.close();
    expect(await reading).toEqual([]);
  });
}
