import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { streamStoreConformance } from '../../test/stream-store/stream-store-conformance.js';
import { collect, completed, eventually, expected, writeDeltas } from '../../test/stream-store/stream-store-helpers.js';
import { createLayeredStreamStore } from './layered-stream-store.js';
import { createMemoryStreamStore } from './memory-stream-store.js';
import type { MessageStreamStore } from './types.js';

/** A shared store whose writes wait for `release()`, to tell the layers apart. */
function gatedShared() {
  const inner = createMemoryStreamStore();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const appended: number[] = [];
  const store: MessageStreamStore = {
    ...inner,
    async appendDelta(event) {
      await gate;
      appended.push(event.seq);
      await inner.appendDelta(event);
    },
  };
  return { store, inner, appended, release: open };
}

/**
 * A shared store that can be down (every write fails as an unreachable Redis does), lose the
 * reply of a write that landed, or lose all its data (a Redis restarted empty).
 */
function flakyShared() {
  let inner = createMemoryStreamStore();
  const state = {
    down: false,
    loseReplies: 0,
    failures: 0,
    get inner() {
      return inner;
    },
    wipe() {
      inner = createMemoryStreamStore();
    },
  };
  const unreachable = () => {
    state.failures++;
    return new Error('Connection is closed.');
  };
  const store: MessageStreamStore = {
    begin: (id) => inner.begin(id),
    async appendDelta(event) {
      if (state.down) throw unreachable();
      await inner.appendDelta(event);
      if (state.loseReplies > 0) {
        state.loseReplies--;
        throw unreachable();
      }
    },
    async end(event) {
      if (state.down) throw unreachable();
      await inner.end(event);
    },
    read: (messageId, afterSeq, signal) => inner.read(messageId, afterSeq, signal),
    close: () => inner.close(),
  };
  return Object.assign(state, { store });
}

/** The last delta seq a store holds for a message, without waiting for more. */
async function lastShared(store: MessageStreamStore, id: string) {
  const events = await collect(store.read(id, 0, AbortSignal.timeout(50)));
  return events.filter((e) => e.kind === 'delta').length;
}

describe('layered stream store', () => {
  describe('conformance (memory under memory)', () => {
    streamStoreConformance((options) =>
      createLayeredStreamStore(createMemoryStreamStore(options), createMemoryStreamStore(options)),
    );
  });

  it('serves readers here from the local layer while shared writes are still held up', async () => {
    const shared = gatedShared();
    const store = createLayeredStreamStore(createMemoryStreamStore(), shared.store);
    const id = randomUUID();
    store.begin(id);
    const reading = collect(store.read(id, 0));
    await writeDeltas(store, id, 1, 5);
    const ending = store.end(completed(id));
    expect(await reading).toEqual(expected(id, 1, 5, completed(id)));
    expect(shared.appended).toEqual([]);
    shared.release();
    await ending;
    // The shared layer got every delta, in order, then the end: another instance reads all of it.
    expect(shared.appended).toEqual([1, 2, 3, 4, 5]);
    expect(await collect(shared.inner.read(id, 0))).toEqual(expected(id, 1, 5, completed(id)));
    await store.close();
  });

  it('retries a failed shared write until it lands, without failing the writer or its readers', async () => {
    const shared = flakyShared();
    const store = createLayeredStreamStore(createMemoryStreamStore(), shared.store, { retryDelayMs: () => 1 });
    const id = randomUUID();
    store.begin(id);
    const reading = collect(store.read(id, 0));
    shared.down = true;
    await writeDeltas(store, id, 1, 5);
    // The end returns once its write is held back: nobody waits out the outage.
    await store.end(completed(id));
    expect(await reading).toEqual(expected(id, 1, 5, completed(id)));
    await eventually(() => shared.failures > 3);
    expect(await lastShared(shared.inner, id)).toBe(0);
    shared.down = false;
    expect(await collect(shared.inner.read(id, 0))).toEqual(expected(id, 1, 5, completed(id)));
    await store.close();
  });

  it('takes a delta whose reply was lost as written, and refills deltas the shared layer lost', async () => {
    const shared = flakyShared();
    const warnings: string[] = [];
    const store = createLayeredStreamStore(createMemoryStreamStore(), shared.store, {
      retryDelayMs: () => 1,
      logger: { warn: (message: string) => warnings.push(message) },
    });
    const id = randomUUID();
    await writeDeltas(store, id, 1, 3);
    shared.loseReplies = 1; // delta 4 lands, its caller hears an error, the resend finds it there
    await writeDeltas(store, id, 4, 6);
    await eventually(async () => (await lastShared(shared.inner, id)) === 6);
    shared.wipe(); // a Redis restarted without its data: the next append refills 1..6 first
    await writeDeltas(store, id, 7, 8);
    await store.end(completed(id));
    expect(await collect(shared.inner.read(id, 0))).toEqual(expected(id, 1, 8, completed(id)));
    // Only the lost reply was a failure: neither the resend nor the refill took anything for lost.
    expect(warnings).toEqual(['shared stream write failed; retrying']);
    await store.close();
  });

  it('gives up shared writes still held back at close, after closeTimeoutMs, and says so', async () => {
    const shared = flakyShared();
    const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
    const logger = { warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, fields }) };
    const store = createLayeredStreamStore(createMemoryStreamStore(), shared.store, {
      retryDelayMs: () => 1,
      closeTimeoutMs: 50,
      logger,
    });
    shared.down = true;
    await writeDeltas(store, randomUUID(), 1, 2);
    await store.close();
    expect(warnings.map((w) => w.message)).toEqual([
      'shared stream write failed; retrying',
      'shared stream writes given up at close',
    ]);
    expect(warnings[1]?.fields).toEqual({ messages: 1 });
  });

  it('says so when the shared layer lost deltas that the local one has trimmed too, and goes on', async () => {
    const shared = flakyShared();
    const warnings: string[] = [];
    const store = createLayeredStreamStore(createMemoryStreamStore({ maxDeltas: 2 }), shared.store, {
      logger: { warn: (message: string) => warnings.push(message) },
    });
    const id = randomUUID();
    await writeDeltas(store, id, 1, 4);
    await eventually(async () => (await lastShared(shared.inner, id)) === 4);
    shared.wipe(); // 1..4 gone from the shared layer; here only 3 and 4 are left
    await writeDeltas(store, id, 5, 5);
    await store.end(completed(id));
    expect(warnings).toEqual(['shared stream lost deltas that this process no longer holds']);
    // The writer and its local readers never noticed.
    expect(await collect(store.read(id, 3))).toEqual(expected(id, 4, 5, completed(id)));
    await store.close();
  });

  it('writes only the shared end of a message another process was writing', async () => {
    const local = createMemoryStreamStore();
    const shared = createMemoryStreamStore();
    const store = createLayeredStreamStore(local, shared);
    const id = randomUUID();
    await writeDeltas(shared, id, 1, 2);
    await store.end(completed(id));
    expect(local.has(id)).toBe(false);
    expect(await collect(store.read(id, 0))).toEqual(expected(id, 1, 2, completed(id)));
    await store.close();
  });

  it('reads a message this process never wrote from the shared layer', async () => {
    const shared = createMemoryStreamStore();
    const store = createLayeredStreamStore(createMemoryStreamStore(), shared);
    const id = randomUUID();
    await writeDeltas(shared, id, 1, 3);
    await shared.end(completed(id));
    expect(await collect(store.read(id, 1))).toEqual(expected(id, 2, 3, completed(id)));
    await store.close();
  });
});
