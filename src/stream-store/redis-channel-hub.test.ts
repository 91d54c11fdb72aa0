import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type ChannelListener, createChannelHub } from './redis-channel-hub.js';

/** A subscriber connection that records its commands; each SUBSCRIBE and PING waits for `confirm`/`pong`. */
function fakeSubscriber() {
  const emitter = new EventEmitter();
  const commands: string[] = [];
  const pending: { command: string; settle: (error?: Error) => void }[] = [];
  const command = (name: string) => {
    commands.push(name);
    return new Promise<void>((resolve, reject) => {
      pending.push({ command: name, settle: (error) => (error ? reject(error) : resolve()) });
    });
  };
  const reply = (name: string, error?: Error) => {
    const index = pending.findIndex((p) => p.command === name);
    if (index < 0) throw new Error(`no ${name} waits for a reply`);
    pending.splice(index, 1)[0]?.settle(error);
  };
  const connection = Object.assign(emitter, {
    subscribe: (channel: string) => command(`SUBSCRIBE ${channel}`),
    unsubscribe: (channel: string) => {
      commands.push(`UNSUBSCRIBE ${channel}`);
      return Promise.resolve();
    },
    ping: () => command('PING'),
  });
  return { connection: connection as unknown as Redis, emitter, commands, reply };
}

function recorder(name: string, log: string[]): ChannelListener<string> {
  return { notice: (value) => log.push(`${name} ${value}`), resync: () => log.push(`${name} resync`) };
}

describe('channel hub', () => {
  it('subscribes once per channel, answers once Redis confirmed, and unsubscribes when the last listener stops', async () => {
    const redis = fakeSubscriber();
    const hub = createChannelHub(redis.connection, (_, message) => message);
    let listening = 0;
    const first = hub.listen('c', recorder('a', [])).then((stop) => {
      listening++;
      return stop;
    });
    const second = hub.listen('c', recorder('b', []));
    await nextTurn();
    expect(listening).toBe(0);
    redis.reply('SUBSCRIBE c');
    const [stopA, stopB] = await Promise.all([first, second]);
    expect(redis.commands).toEqual(['SUBSCRIBE c']);
    stopA();
    stopA(); // twice: still one listener left
    expect(redis.commands).toEqual(['SUBSCRIBE c']);
    stopB();
    expect(redis.commands).toEqual(['SUBSCRIBE c', 'UNSUBSCRIBE c']);
    const again = hub.listen('c', recorder('c', []));
    redis.reply('SUBSCRIBE c');
    await again;
    expect(redis.commands).toEqual(['SUBSCRIBE c', 'UNSUBSCRIBE c', 'SUBSCRIBE c']);
  });

  it("decodes each message once for all of a channel's listeners, and ignores other channels and junk", async () => {
    const redis = fakeSubscriber();
    const decoded: string[] = [];
    const hub = createChannelHub(redis.connection, (channel, message) => {
      decoded.push(`${channel}:${message}`);
      return message === 'junk' ? undefined : message.toUpperCase();
    });
    const log: string[] = [];
    const listening = Promise.all([hub.listen('c', recorder('a', log)), hub.listen('c', recorder('b', log))]);
    redis.reply('SUBSCRIBE c');
    await listening;
    redis.emitter.emit('message', 'other', 'x');
    redis.emitter.emit('message', 'c', 'junk');
    redis.emitter.emit('message', 'c', 'hi');
    expect(decoded).toEqual(['c:junk', 'c:hi']);
    expect(log).toEqual(['a HI', 'b HI']);
  });

  it('forgets a channel whose SUBSCRIBE failed, so the next listener subscribes again', async () => {
    const redis = fakeSubscriber();
    const hub = createChannelHub(redis.connection, (_, message) => message);
    const failing = hub.listen('c', recorder('a', []));
    redis.reply('SUBSCRIBE c', new Error('Connection is closed.'));
    await expect(failing).rejects.toThrow('Connection is closed.');
    const retry = hub.listen('c', recorder('b', []));
    redis.reply('SUBSCRIBE c');
    await retry;
    expect(redis.commands.filter((c) => c === 'SUBSCRIBE c')).toHaveLength(2);
  });

  it('asks every listener to re-read once the resubscriptions after a reconnect are confirmed', async () => {
    const redis = fakeSubscriber();
    const hub = createChannelHub(redis.connection, (_, message) => message);
    const log: string[] = [];
    const listening = Promise.all([hub.listen('c', recorder('a', log)), hub.listen('d', recorder('b', log))]);
    redis.reply('SUBSCRIBE c');
    redis.reply('SUBSCRIBE d');
    await listening;
    redis.emitter.emit('ready');
    await nextTurn();
    expect(redis.commands.at(-1)).toBe('PING');
    expect(log).toEqual([]);
    redis.reply('PING');
    await nextTurn();
    expect(log.sort()).toEqual(['a resync', 'b resync']);
  });

  it('unsubscribes its channels and detaches from the connection when closed', async () => {
    const redis = fakeSubscriber();
    const hub = createChannelHub(redis.connection, (_, message) => message);
    const log: string[] = [];
    const listening = hub.listen('c', recorder('a', log));
    redis.reply('SUBSCRIBE c');
    await listening;
    hub.close();
    expect(redis.commands).toEqual(['SUBSCRIBE c', 'UNSUBSCRIBE c']);
    expect(redis.emitter.listenerCount('message') + redis.emitter.listenerCount('ready')).toBe(0);
    redis.emitter.emit('message', 'c', 'late');
    expect(log).toEqual([]);
  });
});
