import { setMaxListeners } from 'node:events';
import { createPubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { RedisClients } from './redis-clients.js';
import { createRedisEventTarget, encodeDetail } from './redis-event-target.js';

/**
 * Topic name -> payload. Add a topic here and every publisher and subscriber is typed. Handlers
 * must be idempotent: after a Redis outage a publish may arrive twice (see redis-event-target.ts).
 */
export type Topics = {
  /** Asks the instance running a generation to abort it. */
  cancelMessage: [messageId: string];
  /** Every instance forgets the key at once and closes the WebSockets that used it. */
  apiKeyRevoked: [apiKeyId: string];
  /** A key's or user's limits changed (`key:<id>` or `user:<id>`): every instance forgets its copy. */
  limitsChanged: [subject: string];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>>;

/** Topic name -> payload, as createPubSub takes them. */
type TopicMap = Record<string, [] | [unknown] | [string | number, unknown]>;

/** Events that stay in this process; the composition root names their topics. */
export type LocalEvents<LocalTopics extends TopicMap> = ReturnType<typeof createPubSub<LocalTopics>>;

/** Events about this instance alone, never sent through Redis. */
export function createLocalEvents<LocalTopics extends TopicMap>(): LocalEvents<LocalTopics> {
  return createPubSub<LocalTopics>({ eventTarget: manyListenersTarget() });
}

/**
 * An EventTarget that takes any number of listeners per topic: each subscription is one (a
 * WebSocket carries up to 100), and Node's warning at 11 would be noise in the log.
 */
function manyListenersTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

/** In-process by default; across instances through Redis when it is configured. */
export function createAppPubSub(redis: RedisClients | undefined, logger: Logger): PubSub {
  if (!redis) return createPubSub<Topics>({ eventTarget: manyListenersTarget() });
  return createPubSub<Topics>({
    eventTarget: createRedisEventTarget({ publisher: redis.publisher, subscriber: redis.subscriber, logger }),
  });
}

/**
 * Publishes one event to every instance through Redis and waits until Redis has taken it, for a
 * process that exits right after (the keys command). Resolves to how many instances listened.
 */
export async function publishOnce<T extends keyof Topics>(
  redisUrl: string,
  topic: T,
  payload: Topics[T][0],
): Promise<number> {
  const publisher = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  publisher.on('error', () => {}); // the failed command below says it
  try {
    await publisher.connect();
    return await publisher.publish(topic, encodeDetail(payload));
  } finally {
    publisher.disconnect();
  }
}
