import { TimeoutStrategy, timeout } from 'cockatiel';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { type Tracing, tracingOff } from '../tracing/index.js';
import { traceRedis } from '../tracing/redis-spans.js';

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

/** Reconnect quickly after an outage: at most a second between attempts, however long it lasts. */
const reconnectDelayMs = (attempt: number) => Math.min(attempt * 100, 1_000);

export function createRedisClients(url: string, logger: Logger, tracing: Tracing = tracingOff): RedisClients {
  // Auto-pipelining sends the commands of one event-loop tick in one write: under many concurrent
  // streams that is one syscall for dozens of appends instead of one each. A command sent while
  // the connection is down waits for the reconnect and fails after two attempts: callers that
  // must not lose a write (the stream store) retry it themselves, the others fail fast.
  const connect = (role: string) => {
    const client = new Redis(url, {
      maxRetriesPerRequest: 2,
      lazyConnect: false,
      enableAutoPipelining: true,
      retryStrategy: reconnectDelayMs,
    });
    // One line when a connection is lost and one when it is back, not one per reconnect attempt.
    let lost = false;
    client.on('error', (error) => {
      if (lost) return;
      lost = true;
      logger.warn('redis connection lost', { role, error: error.message });
    });
    client.on('ready', () => {
      if (!lost) return;
      lost = false;
      logger.info('redis connection restored', { role });
    });
    return client;
  };
  const command = connect('command');
  const publisher = connect('publisher');
  // Subscriber-mode connections only wait for messages: their commands are not the request's work.
  traceRedis(command, tracing);
  traceRedis(publisher, tracing);
  const subscriber = connect('subscriber');
  const streamSubscriber = connect('stream-subscriber');
  return {
    command,
    publisher,
    subscriber,
    streamSubscriber,
    async ping(timeoutMs) {
      // While reconnecting a PING would only wait in the offline queue: down is the answer now.
      if (command.status !== 'ready') throw new Error('redis is not connected');
      const started = performance.now();
      await timeout(timeoutMs, TimeoutStrategy.Aggressive).execute(() => command.ping());
      return performance.now() - started;
    },
    async close() {
      await Promise.all(
        [command, publisher, subscriber, streamSubscriber].map((c) => c.quit().catch(() => c.disconnect())),
      );
    },
  };
}
