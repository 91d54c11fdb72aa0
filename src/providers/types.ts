import type { ProviderError } from './provider-error.js';

/**
 * The provider-neutral contract. Adapters map each provider's wire format into it; the router,
 * the chat service and the GraphQL layer only ever see these types.
 */
export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatRequest {
  /** The provider's own model id, without any `provider/` prefix. */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

/** Unified finish reasons; the provider's raw value is kept beside it. */
export type FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * One stream is: zero or more `text-delta` parts, then exactly one terminal part,
 * `finish` or `error`. Adapters never throw from the iterator: failures are `error` parts.
 */
export type StreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'finish'; usage: TokenUsage; finishReason: { unified: FinishReason; raw: string | undefined } }
  | { type: 'error'; error: ProviderError };

export interface ModelInfo {
  id: string;
  provider: string;
  contextWindow?: number;
}

export interface EmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
  signal?: AbortSignal;
}

export interface ChatProvider {
  /** The kind (`openai`, `anthropic`, ...), or a configured deployment name. */
  readonly name: string;
  /** The provider definition behind `name` (see definitions.ts). */
  readonly kind: string;
  stream(request: ChatRequest): AsyncIterable<StreamPart>;
  /** Models the provider serves right now (adapters cache and refresh this). */
  listModels(signal?: AbortSignal): Promise<ModelInfo[]>;
  /** Present only where the provider can embed (OpenAI, Ollama, mock). */
  embed?(request: EmbedRequest): Promise<number[][]>;
  /** A cheap request that proves the provider answers; rejects with a ProviderError. */
  probe(signal: AbortSignal): Promise<void>;
}
