import type { ProviderError } from './provider-error.js';

/**
 * The provider-neutral contract. Adapters map each provider's wire format into it; the router,
 * the chat service and the GraphQL layer only ever see these types.
 */
export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

/** An image in a user message: an `https:` URL or a `data:image/...;base64,` URL. */
export interface ImagePart {
  url: string;
  /** `image/png`, ...: set for data URLs (parsed from them), absent for remote URLs. */
  mediaType?: string;
}

/** A tool call the model asked for. `arguments` is the JSON text as the model wrote it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * One message. `content` is always the text (empty when an assistant message only calls tools);
 * the optional fields carry what a role may add: images (user), tool calls (assistant), and the
 * call a `tool` message answers (its content is the tool's output as text).
 */
export interface ChatMessage {
  role: ChatRole;
  content: string;
  images?: ImagePart[];
  toolCalls?: ToolCall[];
  toolCallId?: string;
}

/** A tool the model may call: its arguments are described by a JSON Schema object. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** `auto` (the model decides), `none`, `required` (some tool), or one tool by name. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json-object' }
  | { type: 'json-schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

export interface ChatRequest {
  /** The provider's own model id, without any `provider/` prefix. */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Up to four sequences that end the reply (not included in it). */
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
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
 * One stream is: zero or more `text-delta` and tool-call parts, then exactly one terminal part,
 * `finish` or `error`. Adapters never throw from the iterator: failures are `error` parts.
 * A tool call is `tool-call-start`, any number of `tool-call-delta` (pieces of the arguments'
 * JSON text, in order), then `tool-call-end`; calls may interleave, told apart by `id`. A reply
 * that asks for tools finishes with `tool-calls`.
 */
export type StreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call-start'; id: string; name: string }
  | { type: 'tool-call-delta'; id: string; argumentsDelta: string }
  | { type: 'tool-call-end'; id: string }
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

/** An embed call's vectors, in input order, and what the provider said the input cost in tokens. */
export interface EmbedResponse {
  embeddings: number[][];
  /** The input's tokens as the provider reported them; absent when it reports none. */
  usage?: { promptTokens: number } | undefined;
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
  embed?(request: EmbedRequest): Promise<EmbedResponse>;
  /** A cheap request that proves the provider answers; rejects with a ProviderError. */
  probe(signal: AbortSignal): Promise<void>;
}
