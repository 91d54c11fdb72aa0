import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createLayeredStreamStore,
  createMemoryStreamStore,
  createRedisStreamStore,
} from '../../src/stream-store/index.js';
import { streamStoreConformance } from './stream-store-conformance.js';
import { collect, completed, eventually, expected, writeDeltas } from './stream-store-helpers.js';

// Over two memory stores, with outages and refills: src/stream-store/layered-stream-store.test.ts.

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

  let admin: Redis | undefined;
  const subscribers = async (channel: string) => {
    admin ??= connect();
    return ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1];
  };
  const keyOf = (messageId: string) => `switchyard:stream:${messageId}`;

  describe('conformance', () => {
    streamStoreConformance((options) => instance(options), {
      listening: (id) => eventually(async () => (await subscribers(keyOf(id))) >= 1),
    });
  });

  it('streams a generation written on one instance to a reader on another', async () => {
    const writer = instance();
    const reader = instance();
    const id = randomUUID();
    writer.begin(id);
    const remote = collect(reader.read(id, 0));
    const local = collect(writer.read(id, 0));
    await eventually(async () => (await subscribers(keyOf(id))) === 1);
    await writeDeltas(writer, id, 1, 40);
    await writer.end(completed(id));
    expect(await local).toEqual(expected(id, 1, 40, completed(id)));
    expect(await remote).toEqual(expected(id, 1, 40, completed(id)));
    expect(await collect(reader.read(id, 35))).toEqual(expected(id, 36, 40, completed(id)));
    await Promise.all([writer.close(), reader.close()]);
  });
});
