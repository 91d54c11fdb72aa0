import { createPubSub } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { ProviderHealthSnapshot } from '../providers/health/index.js';
import type { RedisClients } from './redis-clients.js';
import { createRedisEventTarget } from './redis-event-target.js';

/**
 * Topic name -> payload. Add a topic here and every publisher and subscriber is typed. Handlers
 * must be idempotent: after a Redis outage a publish may arrive twice (see redis-event-target.ts).
 */
export type Topics = {
  /** Asks the instance running a generation to abort it. */
  cancelMessage: [messageId: string];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>>;

/** Events about this instance alone: each instance probes providers itself, so its health view is its own. */
export type LocalTopics = {
  providerHealth: [ProviderHealthSnapshot];
};

export type LocalEvents = ReturnType<typeof createPubSub<LocalTopics>>;

export function createLocalEvents(): LocalEvents {
  return createPubSub<LocalTopics>();
}

/** In-process by default; across instances through Redis when it is configured. */
export function createAppPubSub(redis: RedisClients | undefined, logger: Logger): PubSub {
  if (!redis) return createPubSub<Topics>();
  return createPubSub<Topics>({
    eventTarget: createRedisEventTarget({ publisher: redis.publisher, subscriber: redis.subscriber, logger }),
  });
}
