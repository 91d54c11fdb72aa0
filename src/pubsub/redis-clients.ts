import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { withTimeout } from '../util/with-timeout.js';

export interface RedisClients {
  /** Commands (streams, rate limits, health). */
  command: Redis;
  publisher: Redis;
  /** A connection in subscriber mode can run nothing else, hence its own client. */
  subscriber: Redis;
  /** Subscriber-mode connection of the message stream store. */
  streamSubscriber: Redis;
  ping(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

export function createRedisClients(url: string, logger: Logger): RedisClients {
  // Auto-pipelining sends the commands of one event-loop tick in one write: under many concurrent
  // streams that is one syscall for dozens of appends instead of one each.
  const connect = (role: string) => {
    const client = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false, enableAutoPipelining: true });
    client.on('error', (error) => logger.warn('redis connection error', { role, error: error.message }));
    return client;
  };
  const command = connect('command');
  const publisher = connect('publisher');
  const subscriber = connect('subscriber');
  const streamSubscriber = connect('stream-subscriber');
  return {
    command,
    publisher,
    subscriber,
    streamSubscriber,
    async ping(timeoutMs) {
      const started = performance.now();
      await withTimeout(command.ping(), timeoutMs, 'redis did not answer in time');
      return performance.now() - started;
    },
    async close() {
      await Promise.all(
        [command, publisher, subscriber, streamSubscriber].map((c) => c.quit().catch(() => c.disconnect())),
      );
    },
  };
}
