import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createLayeredStreamStore,
  createMemoryStreamStore,
  createRedisStreamStore,
  type MessageStreamStore,
} from '../../src/chat/stream-store/index.js';
import { streamStoreConformance } from './stream-store-conformance.js';
import { COMPLETE, collect, expected, writeDeltas } from './stream-store-helpers.js';

/** A shared store whose writes wait for `release()` (or fail), to tell the layers apart. */
function gatedShared(failWith?: Error) {
  const inner = createMemoryStreamStore();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const appended: number[] = [];
  const store: MessageStreamStore = {
    ...inner,
    async appendDelta(messageId, seq, text) {
      await gate;
      if (failWith) throw failWith;
      appended.push(seq);
      await inner.appendDelta(messageId, seq, text);
    },
  };
  return { store, inner, appended, release: open };
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
    const ending = store.end(id, COMPLETE);
    expect(await reading).toEqual(expected(1, 5, COMPLETE));
    expect(shared.appended).toEqual([]);
    shared.release();
    await ending;
    // The shared layer got every delta, in order, then the end: another instance reads all of it.
    expect(shared.appended).toEqual([1, 2, 3, 4, 5]);
    expect(await collect(shared.inner.read(id, 0))).toEqual(expected(1, 5, COMPLETE));
    await store.close();
  });

  it('reports a failed shared write on the next append and at the end', async () => {
    const shared = gatedShared(new Error('redis is gone'));
    const store = createLayeredStreamStore(createMemoryStreamStore(), shared.store);
    const id = randomUUID();
    await store.appendDelta(id, 1, 't1 ');
    shared.release();
    await expect(store.end(id, COMPLETE)).rejects.toThrow('redis is gone');

    const other = randomUUID();
    await store.appendDelta(other, 1, 't1 ');
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(store.appendDelta(other, 2, 't2 ')).rejects.toThrow('redis is gone');
    await store.close();
  });

  it('reads a message this process never wrote from the shared layer', async () => {
    const shared = createMemoryStreamStore();
    const store = createLayeredStreamStore(createMemoryStreamStore(), shared);
    const id = randomUUID();
    await writeDeltas(shared, id, 1, 3);
    await shared.end(id, COMPLETE);
    expect(await collect(store.read(id, 1))).toEqual(expected(2, 3, COMPLETE));
    await store.close();
  });
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)('layered stream store over Redis', () => {
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(redisUrl as string, { maxRetriesPerRequest: 2 });
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
  });
  const instance = (options = {}) =>
    createLayeredStreamStore(
      createMemoryStreamStore(options),
      createRedisStreamStore({ command: connect(), subscriber: connect() }, options),
    );

  describe('conformance', () => {
    streamStoreConformance((options) => instance(options));
  });

  it('streams a generation written on one instance to a reader on another', async () => {
    const writer = instance();
    const reader = instance();
    const id = randomUUID();
    writer.begin(id);
    const remote = collect(reader.read(id, 0));
    const local = collect(writer.read(id, 0));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeDeltas(writer, id, 1, 40);
    await writer.end(id, COMPLETE);
    expect(await local).toEqual(expected(1, 40, COMPLETE));
    expect(await remote).toEqual(expected(1, 40, COMPLETE));
    expect(await collect(reader.read(id, 35))).toEqual(expected(36, 40, COMPLETE));
    await Promise.all([writer.close(), reader.close()]);
  });
});
