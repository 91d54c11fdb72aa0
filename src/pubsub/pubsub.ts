import { createPubSub } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { RedisClients } from './redis-clients.js';
import { createRedisEventTarget } from './redis-event-target.js';

/**
 * Topic name -> payload. Add a topic here and every publisher and subscriber is typed. Handlers
 * must be idempotent: after a Redis outage a publish may arrive twice (see redis-event-target.ts).
 */
export type Topics = {
  /** Asks the instance running a generation to abort it. */
  cancelMessage: [messageId: string];
  /** Every instance forgets the key at once and closes the WebSockets that used it. */
  apiKeyRevoked: [apiKeyId: string];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>>;

/** Topic name -> payload, as createPubSub takes them. */
type TopicMap = Record<string, [] | [unknown] | [string | number, unknown]>;

/** Events that stay in this process; the composition root names their topics. */
export type LocalEvents<LocalTopics extends TopicMap> = ReturnType<typeof createPubSub<LocalTopics>>;

/** Events about this instance alone, never sent through Redis. */
export function createLocalEvents<LocalTopics extends TopicMap>(): LocalEvents<LocalTopics> {
  return createPubSub<LocalTopics>();
}

/** In-process by default; across instances through Redis when it is configured. */
export function createAppPubSub(redis: RedisClients | undefined, logger: Logger): PubSub {
  if (!redis) return createPubSub<Topics>();
  return createPubSub<Topics>({
    eventTarget: createRedisEventTarget({ publisher: redis.publisher, subscriber: redis.subscriber, logger }),
  });
}
