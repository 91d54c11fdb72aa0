import type { HealthService } from './health/health-service.js';
import type { PubSub } from './pubsub/pubsub.js';

/** Everything resolvers may call, built once in createApp and handed over through the context. */
export interface Services {
  health: HealthService;
  pubsub: PubSub;
}
