import type { ProviderCatalog } from './catalog/provider-catalog.js';
import type { ChatService } from './chat/chat-service.js';
import type { CompletionService } from './completions/completion-service.js';
import type { HealthService } from './health/health-service.js';
import type { MemoryService } from './memory/memory-service.js';
import type { Authenticator } from './policy/authenticator.js';
import type { IdentityService } from './policy/identity-service.js';
import type { UsagePolicy } from './policy/usage-policy.js';
import type { ProviderHealthSnapshot } from './providers/health/index.js';
import type { LocalEvents, PubSub } from './pubsub/pubsub.js';
import type { DocumentService } from './rag/document-service.js';

/** Events about this instance alone: each instance probes providers itself, so its health view is its own. */
export type LocalTopics = {
  providerHealth: [ProviderHealthSnapshot];
};

/** Everything resolvers may call, built once in createApp and handed over through the context. */
export interface Services {
  health: HealthService;
  /** Across instances when Redis is configured. */
  pubsub: PubSub;
  /** This instance's own observations (provider health), never shared. */
  localEvents: LocalEvents<LocalTopics>;
  /** The providers and models queries' source. */
  catalog: ProviderCatalog;
  chat: ChatService;
  /** Generations not stored as conversations: the REST endpoints. */
  completions: CompletionService;
  documents: DocumentService;
  memory: MemoryService;
  /** Credentials: resolvers announce revocations through it. */
  auth: Authenticator;
  /** Users and API keys. */
  identity: IdentityService;
  /** Limits, budgets and what generations cost. */
  usage: UsagePolicy;
}
