import type { StrategyName } from '../../config/router-schema.js';
import type { ProviderDefinition } from '../definition.js';
import type { ChatMessage, ChatProvider, ChatRequest, StreamPart } from '../types.js';

/** What a request may ask of one deployment. */
export interface DeploymentLimits {
  /** Prompt and reply together, in tokens: listed by the provider, else its kind's table, else a small default. */
  contextWindow: number;
  temperature: ProviderDefinition['temperature'];
}

/** One place a model can be served: a provider and that provider's own model id. */
export interface Deployment {
  /** `provider/model`: the key for its circuit breaker and balancing figures. */
  id: string;
  provider: ChatProvider;
  model: string;
  weight: number;
  limits: DeploymentLimits;
  capabilities: ProviderDefinition['capabilities'];
}

/** What a request needs of a deployment beyond text: one lacking any of it is left out of the plan. */
export interface RequestNeeds {
  tools?: boolean;
  images?: boolean;
  /** An image given by a remote URL, not as data. */
  imageUrls?: boolean;
  responseFormat?: 'json-object' | 'json-schema';
}

/** Deployments balanced among themselves (one alias, or a single deployment). */
export interface DeploymentGroup {
  /** The alias name, or the deployment id for a lone deployment. */
  key: string;
  strategy: StrategyName;
  deployments: Deployment[];
}

/** What a request asked for. */
export interface RouteTarget {
  model?: string;
  provider?: string;
}

export type RouteSource = 'provider' | 'qualified' | 'alias' | 'inferred' | 'default';

/** How a target resolves: groups in fallback order, each balanced when the request runs. */
export interface RouteResolution {
  source: RouteSource;
  groups: DeploymentGroup[];
  /** Every deployment in configured order (before balancing). */
  chain: Deployment[];
}

/** What a plan checks before any deployment is called. */
export interface PlanRequest extends RouteTarget {
  temperature?: number | undefined;
  /**
   * The caller's API key's models (see model-access.ts): deployments outside them are dropped from
   * every group, and a request whose own model is outside them is FORBIDDEN. Absent or null: all.
   */
  allowedModels?: readonly string[] | null | undefined;
  /** Tools, images, JSON output: see needsOf. */
  needs?: RequestNeeds | undefined;
}

/**
 * A request's route, decided once: the groups (in fallback order) of deployments that can take its
 * parameters, and the window its prompt is budgeted to. Chat budgets with it and streams with it.
 */
export interface RoutePlan extends RouteResolution {
  /** The smallest window in the first group: every deployment balanced there can hold the prompt. */
  contextWindow: number;
  /** The deployment whose window that is (named when a message cannot fit). */
  budgetedFor: Deployment;
}

export interface RoutedChatRequest
  extends RouteTarget,
    Pick<ChatRequest, 'stop' | 'tools' | 'toolChoice' | 'responseFormat'> {
  messages: ChatMessage[];
  temperature?: number;
  /** Honoured when the router plans the request itself; a given `plan` is already restricted. */
  allowedModels?: readonly string[] | null;
  maxTokens?: number;
  signal?: AbortSignal;
  /** The plan the caller budgeted with; without one the router plans the request itself. */
  plan?: RoutePlan;
  /** The stored conversation this turn belongs to, for traces (`gen_ai.conversation.id`). */
  conversationId?: string;
}

/**
 * Sent once, just before the first text (or the finish of an empty reply): which deployment
 * answered, after how many upstream calls in all, and the time to first token at the router.
 */
export interface RouteStartPart {
  type: 'start';
  provider: string;
  kind: ChatProvider['kind'];
  model: string;
  deploymentId: string;
  /** 1 when the first call answered; counts retries and fallbacks. */
  attempt: number;
  ttftMs: number;
}

/** `start`, then the contract's parts: text deltas, then one `finish` or `error`. */
export type RoutedStreamPart = RouteStartPart | StreamPart;

export interface RoutedEmbedRequest extends RouteTarget {
  input: string[];
  dimensions?: number;
  signal?: AbortSignal;
}

export interface EmbedResult {
  embeddings: number[][];
  provider: string;
  model: string;
  /** The input's tokens as the deployment that answered reported them; absent when it reports none. */
  usage?: { promptTokens: number } | undefined;
}
