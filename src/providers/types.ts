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

/**
 * Tokens as the provider reported them. `promptTokens` is always the whole prompt: the cached
 * counts are parts of it (present when the provider reported any), so that they can be billed
 * apart (src/policy/prices).
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens, read from the provider's prompt cache (OpenAI cached_tokens, Anthropic cache reads). */
  cachedPromptTokens?: number;
  /** Of promptTokens, written to the provider's prompt cache (Anthropic cache_creation_input_tokens). */
  cacheWritePromptTokens?: number;
}

/**
 * One stream is: zero or more `text-delta` parts, then exactly one terminal part,
 * `finish` or `error`. Adapters never throw from the iterator: failures are `error` parts.
 */
export type StreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'finish'; usage: TokenUsage; finishReason: { unified: FinishReason; raw: string | undefined } }
  | {
      type: 'error';
      error: ProviderError;
      /**
       * What the provider had reported before the stream was cut (Anthropic reports the prompt at
       * its start), so the real prompt can be charged. `completionTokens` only when the provider
       * reported a running count; otherwise the text received is all there is to count.
       */
      usage?: Partial<TokenUsage>;
    };

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
