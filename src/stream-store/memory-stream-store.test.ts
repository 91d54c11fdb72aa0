import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { streamStoreConformance } from '../../test/stream-store/stream-store-conformance.js';
import { collect, completed, delta, expected, writeDeltas } from '../../test/stream-store/stream-store-helpers.js';
import { createMemoryStreamStore } from './memory-stream-store.js';
import { type MessageEnd, type MessageStreamEvent, StreamLagError, type StreamStoreOptions } from './types.js';

describe('memory stream store', () => {
  describe('conformance', () => {
    streamStoreConformance((options) => createMemoryStreamStore(options));
  });

  describe('on its own', () => {
    const open: ReturnType<typeof createMemoryStreamStore>[] = [];
    const makeStore = (options?: StreamStoreOptions) => {
      const store = createMemoryStreamStore(options);
      open.push(store);
      return store;
    };
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
      vi.useRealTimers();
    });

    /** What `read` throws, or undefined if it ends. */
    const lagOf = (events: AsyncIterable<MessageStreamEvent>) =>
      collect(events).then(
        () => undefined,
        (error: unknown) => error,
      );

    it('holds a stream from begin until endedTtlMs after its end, replaying all of it until then', async () => {
      const store = makeStore({ endedTtlMs: 60_000 });
      const id = randomUUID();
      expect(store.has(id)).toBe(false);
      store.begin(id);
      expect(store.has(id)).toBe(true);
      await writeDeltas(store, id, 1, 3);
      await store.end(completed(id));
      await vi.advanceTimersByTimeAsync(59_999);
      expect(store.has(id)).toBe(true);
      expect(await collect(store.read(id, 1))).toEqual(expected(id, 2, 3, completed(id)));
      await vi.advanceTimersByTimeAsync(1);
      expect(store.has(id)).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('keeps a second end from resetting the expiry of the first', async () => {
      const store = makeStore({ endedTtlMs: 1_000 });
      const id = randomUUID();
      await store.end(completed(id));
      await vi.advanceTimersByTimeAsync(600);
      await store.end({ kind: 'failed', messageId: id, code: 'CANCELLED', error: 'Cancelled' });
      await vi.advanceTimersByTimeAsync(400);
      expect(store.has(id)).toBe(false);
    });

    it('tells a reader that lagged past a dropped stream where it stopped', async () => {
      const store = makeStore({ endedTtlMs: 1_000 });
      const id = randomUUID();
      await writeDeltas(store, id, 1, 3);
      await store.end(completed(id));
      const reader = store.read(id, 0)[Symbol.asyncIterator]();
      expect((await reader.next()).value).toEqual(delta(id, 1));
      await vi.advanceTimersByTimeAsync(1_000);
      const error = await reader.next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StreamLagError);
      expect(error).toMatchObject({ messageId: id, requestedAfterSeq: 1, oldestSeq: 2 });
    });

    it('keeps the last maxDeltas deltas and names the oldest one kept, across its compactions', async () => {
      const store = makeStore({ maxDeltas: 3 });
      const id = randomUUID();
      for (let last = 1; last <= 20; last++) {
        await store.appendDelta(delta(id, last));
        const oldest = Math.max(1, last - 2);
        if (oldest > 1) {
          expect(await lagOf(store.read(id, oldest - 2))).toMatchObject({
            requestedAfterSeq: oldest - 2,
            oldestSeq: oldest,
          });
        }
        const reader = store.read(id, oldest - 1)[Symbol.asyncIterator]();
        for (let seq = oldest; seq <= last; seq++) expect((await reader.next()).value).toEqual(delta(id, seq));
        await reader.return?.(undefined);
      }
    });

    it('throws StreamLagError to a reader that the trimming overtakes mid-read', async () => {
      const store = makeStore({ maxDeltas: 3 });
      const id = randomUUID();
      await writeDeltas(store, id, 1, 2);
      const reader = store.read(id, 0)[Symbol.asyncIterator]();
      expect((await reader.next()).value).toEqual(delta(id, 1));
      await writeDeltas(store, id, 3, 6);
      await expect(reader.next()).rejects.toMatchObject({ name: 'StreamLagError', requestedAfterSeq: 1, oldestSeq: 4 });
    });

    it('keeps the end without the finished row, as a shared store would', async () => {
      const store = makeStore();
      const id = randomUUID();
      const row = { id, content: 'done' } as never;
      const failed: MessageEnd = { kind: 'failed', messageId: id, code: 'UPSTREAM_ERROR', error: 'boom', message: row };
      await store.end(failed);
      expect(await collect(store.read(id, 0))).toEqual([
        { kind: 'failed', messageId: id, code: 'UPSTREAM_ERROR', error: 'boom' },
      ]);
    });

    it('drops its streams and expiry timers when closed', async () => {
      const store = makeStore({ endedTtlMs: 60_000 });
      const [ended, running] = [randomUUID(), randomUUID()];
      await store.end(completed(ended));
      await writeDeltas(store, running, 1, 2);
      expect(vi.getTimerCount()).toBe(1);
      await store.close();
      expect(vi.getTimerCount()).toBe(0);
      expect([store.has(ended), store.has(running)]).toEqual([false, false]);
      expect(await collect(store.read(running, 0))).toEqual([]);
    });
  });
});
