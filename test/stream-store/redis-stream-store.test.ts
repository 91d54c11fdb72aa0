import { randomUUID } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisStreamStore,
  type MessageStreamStore,
  type RedisStreamStoreOptions,
} from '../../src/stream-store/index.js';
import { streamStoreConformance } from './stream-store-conformance.js';
import { collect, completed, delta, eventually, expected, jitter, writeDeltas } from './stream-store-helpers.js';

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
  const subscribers = async (channel: string) => ((await command.pubsub('NUMSUB', channel)) as [string, number])[1];
  /**
   * Resolves once `connection` has delivered everything published before this call: Redis sends
   * a connection's messages in order, so a marker published now arrives after all of them.
   */
  const delivered = async (connection: Redis) => {
    const marker = `test:marker:${randomUUID()}`;
    const arrived = new Promise<void>((resolve) => {
      const onMessage = (channel: string) => {
        if (channel !== marker) return;
        connection.off('message', onMessage);
        resolve();
      };
      connection.on('message', onMessage);
    });
    await connection.subscribe(marker);
    await command.publish(marker, 'x');
    await arrived;
    await connection.unsubscribe(marker);
  };

  describe('conformance', () => {
    streamStoreConformance((options) => createRedisStreamStore({ command, subscriber }, options), {
      listening: (id) => eventually(async () => (await subscribers(keyOf(id))) >= 1),
    });
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

  it('lets one instance write while another reads', async () => {
    const writer = makeStore(undefined, { command: connect(), subscriber: connect() });
    const reader = makeStore(undefined, { command: connect(), subscriber: connect() });
    const id = randomUUID();
    const live = collect(reader.read(id, 0));
    await eventually(async () => (await subscribers(keyOf(id))) === 1);
    for (let seq = 1; seq <= 50; seq++) {
      await writer.appendDelta(delta(id, seq));
      await jitter();
    }
    await writer.end(completed(id));
    expect(await live).toEqual(expected(id, 1, 50, completed(id)));
    expect(await collect(reader.read(id, 40))).toEqual(expected(id, 41, 50, completed(id)));
  });

  it('keys entries by seq and expires abandoned and ended streams', async () => {
    const store = makeStore({ endedTtlMs: 60_000 });
    const id = randomUUID();
    await writeDeltas(store, id, 1, 3);
    const ttl = await command.pttl(keyOf(id));
    expect(ttl).toBeGreaterThan(23 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3_600_000);
    await store.end(completed(id));
    const ids = (await command.xrange(keyOf(id), '-', '+')).map(([entryId]) => entryId);
    expect(ids).toEqual(['1-0', '2-0', '3-0', '3-1']);
    expect(await command.pttl(keyOf(id))).toBeLessThanOrEqual(60_000);

    const empty = randomUUID();
    await store.end(completed(empty));
    expect((await command.xrange(keyOf(empty), '-', '+')).map(([entryId]) => entryId)).toEqual(['0-1']);
  });

  it('says a message is streaming from its first delta until its end', async () => {
    const writer = makeStore(undefined, { command: connect(), subscriber: connect() });
    const other = makeStore(undefined, { command: connect(), subscriber: connect() });
    const id = randomUUID();
    expect(await other.streaming?.(id)).toBe(false);
    await writeDeltas(writer, id, 1, 2);
    expect(await other.streaming?.(id)).toBe(true);
    await writer.end(completed(id));
    expect(await other.streaming?.(id)).toBe(false);
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
    await store.end(completed(id));
    expect(await reading).toEqual(expected(id, 1, 5, completed(id)));
    expect(received).toEqual(['hello']);
    await eventually(async () => (await subscribers(keyOf(id))) === 0);
    expect(await subscribers(other)).toBe(1);
  });

  it('lets a reader whose notices overflow catch up from the stream', async () => {
    const store = makeStore({ maxQueuedNotices: 8 });
    const id = randomUUID();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Held on its first delta while 200 notices arrive: its inbox of 8 overflows, surely.
    const slow = collect(store.read(id, 0), (event) => event.kind === 'delta' && event.seq === 1 && gate);
    await eventually(async () => (await subscribers(keyOf(id))) === 1);
    await writeDeltas(store, id, 1, 200);
    await store.end(completed(id));
    await delivered(subscriber);
    release();
    expect(await slow).toEqual(expected(id, 1, 200, completed(id)));
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
      if (event.kind !== 'delta' || event.seq !== 1) return;
      blocked();
      return gate;
    });
    await eventually(async () => (await subscribers(keyOf(id))) === 1);
    await store.appendDelta(delta(id, 1, 't1 '));
    await isBlocked;
    await writeDeltas(store, id, 2, 18);
    await store.end(completed(id));
    await delivered(subscriber);
    release();
    expect(await reading).toEqual(expected(id, 1, 18, completed(id)));
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
    await store.appendDelta(delta(id, 1, 't1 '));
    await gotFirst;
    flaky.disconnect(true);
    await writeDeltas(store, id, 2, 4);
    await store.end(completed(id));
    expect(await reading).toEqual(expected(id, 1, 4, completed(id)));
  });

  it('sends a script again when Redis no longer has it (NOSCRIPT, as after a restart)', async () => {
    // SCRIPT FLUSH would empty the cache of every client of this Redis: instead this connection
    // answers NOSCRIPT to the store's first EVALSHAs, as a Redis that lost its scripts does.
    const sent: string[] = [];
    let forgotten = 2;
    const forgetful = new Proxy(command, {
      get(target, property, receiver) {
        if (property === 'evalsha' && forgotten > 0) {
          return async () => {
            forgotten--;
            sent.push('EVALSHA');
            throw new ReplyError('NOSCRIPT No matching script. Please use EVAL.');
          };
        }
        if (property === 'eval') sent.push('EVAL');
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const store = makeStore(undefined, { command: forgetful, subscriber });
    const id = randomUUID();
    await store.appendDelta(delta(id, 1, 't1 '));
    await store.end(completed(id));
    await store.appendDelta(delta(randomUUID(), 1, 't1 '));
    expect(sent).toEqual(['EVALSHA', 'EVAL', 'EVALSHA', 'EVAL']);
    expect(await collect(store.read(id, 0))).toEqual(expected(id, 1, 1, completed(id)));
  });

  it('reads and writes the wire shape of earlier versions, which share streams during a rolling deploy', async () => {
    const store = makeStore();
    const old = randomUUID();
    // As an earlier version could write them: an end without code or error is named by its status.
    await command.xadd(keyOf(old), '1-0', 'e', '{"type":"delta","seq":1,"text":"old "}');
    await command.xadd(keyOf(old), '1-1', 'e', '{"type":"end","status":"CANCELLED"}');
    await command.pexpire(keyOf(old), 60_000);
    expect(await collect(store.read(old, 0))).toEqual([
      delta(old, 1, 'old '),
      { kind: 'failed', messageId: old, code: 'CANCELLED', error: 'CANCELLED' },
    ]);

    const entries = async (id: string) => (await command.xrange(keyOf(id), '-', '+')).map(([, fields]) => fields);
    const [done, failed, cancelled] = [randomUUID(), randomUUID(), randomUUID()];
    await store.appendDelta(delta(done, 1, 'new '));
    await store.end({ kind: 'completed', messageId: done });
    await store.end({ kind: 'failed', messageId: failed, code: 'INTERRUPTED', error: 'stopped' });
    await store.end({ kind: 'failed', messageId: cancelled, code: 'CANCELLED', error: 'Cancelled' });
    expect(await entries(done)).toEqual([
      ['e', '{"type":"delta","seq":1,"text":"new "}'],
      ['e', '{"type":"end","status":"COMPLETE"}'],
    ]);
    expect(await entries(failed)).toEqual([
      ['e', '{"type":"end","status":"FAILED","code":"INTERRUPTED","error":"stopped"}'],
    ]);
    expect(await entries(cancelled)).toEqual([
      ['e', '{"type":"end","status":"CANCELLED","code":"CANCELLED","error":"Cancelled"}'],
    ]);
  });

  it('refuses a malformed entry in its stream', async () => {
    const store = makeStore();
    const id = randomUUID();
    await command.xadd(keyOf(id), '1-0', 'e', '{"type":"delta","seq":2,"text":"wrong seq"}');
    await command.pexpire(keyOf(id), 60_000);
    await expect(collect(store.read(id, 0))).rejects.toThrow(/malformed stream entry 1-0/);
  });
});
