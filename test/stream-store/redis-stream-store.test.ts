import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisStreamStore,
  type MessageStreamStore,
  type RedisStreamStoreOptions,
} from '../../src/chat/stream-store/index.js';
import { streamStoreConformance } from './stream-store-conformance.js';
import { COMPLETE, collect, eventually, expected, jitter, writeDeltas } from './stream-store-helpers.js';

const redisUrl = process.env.REDIS_URL;
const keyOf = (messageId: string) => `switchyard:stream:${messageId}`;

describe.skipIf(!redisUrl)('redis stream store', () => {
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(redisUrl as string, { maxRetriesPerRequest: 2 });
    clients.push(client);
    return client;
  };
  let command: Redis;
  let subscriber: Redis;
  beforeAll(() => {
    command = connect();
    subscriber = connect();
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
  });

  describe('conformance', () => {
    streamStoreConformance((options) => createRedisStreamStore({ command, subscriber }, options));
  });

  const open: MessageStreamStore[] = [];
  const makeStore = (options?: RedisStreamStoreOptions, clientsOf = { command, subscriber }) => {
    const store = createRedisStreamStore(clientsOf, options);
    open.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });
  const subscribers = async (channel: string) => ((await command.pubsub('NUMSUB', channel)) as [string, number])[1];

  it('lets one instance write while another reads', async () => {
    const writer = makeStore(undefined, { command: connect(), subscriber: connect() });
    const reader = makeStore(undefined, { command: connect(), subscriber: connect() });
    const id = randomUUID();
    const live = collect(reader.read(id, 0));
    await sleep(20);
    for (let seq = 1; seq <= 50; seq++) {
      await writer.appendDelta(id, seq, `t${seq} `);
      await jitter();
    }
    await writer.end(id, COMPLETE);
    expect(await live).toEqual(expected(1, 50, COMPLETE));
    expect(await collect(reader.read(id, 40))).toEqual(expected(41, 50, COMPLETE));
  });

  it('keys entries by seq and expires abandoned and ended streams', async () => {
    const store = makeStore({ endedTtlMs: 60_000 });
    const id = randomUUID();
    await writeDeltas(store, id, 1, 3);
    const ttl = await command.pttl(keyOf(id));
    expect(ttl).toBeGreaterThan(23 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3_600_000);
    await store.end(id, COMPLETE);
    const ids = (await command.xrange(keyOf(id), '-', '+')).map(([entryId]) => entryId);
    expect(ids).toEqual(['1-0', '2-0', '3-0', '3-1']);
    expect(await command.pttl(keyOf(id))).toBeLessThanOrEqual(60_000);

    const empty = randomUUID();
    await store.end(empty, COMPLETE);
    expect((await command.xrange(keyOf(empty), '-', '+')).map(([entryId]) => entryId)).toEqual(['0-1']);
  });

  it('subscribes once per message however many read it, and unsubscribes when they leave', async () => {
    const store = makeStore();
    const id = randomUUID();
    const controller = new AbortController();
    const readers = [1, 2, 3].map(() => collect(store.read(id, 0, controller.signal)));
    await eventually(async () => (await subscribers(keyOf(id))) === 1);
    controller.abort();
    await Promise.all(readers);
    await eventually(async () => (await subscribers(keyOf(id))) === 0);
  });

  it("shares the subscriber connection with another component's channels", async () => {
    const shared = connect();
    const store = makeStore(undefined, { command, subscriber: shared });
    const other = `other:${randomUUID()}`;
    const received: string[] = [];
    shared.on('message', (channel: string, message: string) => channel === other && received.push(message));
    await shared.subscribe(other);
    const id = randomUUID();
    const reading = collect(store.read(id, 0));
    await eventually(async () => (await subscribers(keyOf(id))) === 1);
    await command.publish(other, 'hello');
    await command.publish(keyOf(id), 'not a notice');
    await command.publish(keyOf(id), JSON.stringify({ id: '9-0', e: { type: 'delta', seq: 8, text: 'x' } }));
    await writeDeltas(store, id, 1, 5);
    await store.end(id, COMPLETE);
    expect(await reading).toEqual(expected(1, 5, COMPLETE));
    expect(received).toEqual(['hello']);
    await eventually(async () => (await subscribers(keyOf(id))) === 0);
    expect(await subscribers(other)).toBe(1);
  });

  it('lets a reader whose notices overflow catch up from the stream', async () => {
    const store = makeStore({ maxQueuedNotices: 8 });
    const id = randomUUID();
    const slow = collect(store.read(id, 0), () => sleep(1));
    await sleep(20);
    await writeDeltas(store, id, 1, 200);
    await store.end(id, COMPLETE);
    expect(await slow).toEqual(expected(1, 200, COMPLETE));
  });

  it('re-reads the stream when the notices it dropped included the last one', async () => {
    // Capacity 8: every 9th notice that arrives while the reader is blocked overflows the inbox;
    // here that is the end, so only the stale mark can bring it back.
    const store = makeStore({ maxQueuedNotices: 8 });
    const id = randomUUID();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let blocked!: () => void;
    const isBlocked = new Promise<void>((resolve) => {
      blocked = resolve;
    });
    const reading = collect(store.read(id, 0, AbortSignal.timeout(5_000)), (event) => {
      if (event.type !== 'delta' || event.seq !== 1) return;
      blocked();
      return gate;
    });
    await sleep(20);
    await store.appendDelta(id, 1, 't1 ');
    await isBlocked;
    await writeDeltas(store, id, 2, 18);
    await store.end(id, COMPLETE);
    await sleep(50);
    release();
    expect(await reading).toEqual(expected(1, 18, COMPLETE));
  });

  it('re-reads what was published while its subscriber reconnected', async () => {
    const flaky = connect();
    const store = makeStore(undefined, { command, subscriber: flaky });
    const id = randomUUID();
    let first!: () => void;
    const gotFirst = new Promise<void>((resolve) => {
      first = resolve;
    });
    const reading = collect(store.read(id, 0), () => first());
    await store.appendDelta(id, 1, 't1 ');
    await gotFirst;
    flaky.disconnect(true);
    await writeDeltas(store, id, 2, 4);
    await store.end(id, COMPLETE);
    expect(await reading).toEqual(expected(1, 4, COMPLETE));
  });

  it('loads its scripts again after SCRIPT FLUSH', async () => {
    const store = makeStore();
    const id = randomUUID();
    await store.appendDelta(id, 1, 't1 ');
    await command.script('FLUSH');
    await store.appendDelta(id, 2, 't2 ');
    await store.end(id, COMPLETE);
    expect(await collect(store.read(id, 0))).toEqual(expected(1, 2, COMPLETE));
  });

  it('refuses a malformed entry in its stream', async () => {
    const store = makeStore();
    const id = randomUUID();
    await command.xadd(keyOf(id), '1-0', 'e', '{"type":"delta","seq":2,"text":"wrong seq"}');
    await command.pexpire(keyOf(id), 60_000);
    await expect(collect(store.read(id, 0))).rejects.toThrow(/malformed stream entry 1-0/);
  });
});
