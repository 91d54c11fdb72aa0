import OpenAI from 'openai';
import { boundedFetch } from '../bounded-fetch.js';
import { type ContextWindowTable, contextWindowLookup } from '../definition.js';
import { createModelCache, DEFAULT_MODELS_REFRESH_MS } from '../model-cache.js';
import { tokenCount } from '../reported-usage.js';
import { guard, toProviderError } from '../sdk-error.js';
import type { ChatProvider, ChatRequest, EmbedRequest, ModelInfo, StreamPart, TokenUsage } from '../types.js';
import { convertToOpenAIMessages } from './convert-to-openai-messages.js';
import { convertToOpenAIOptions } from './convert-to-openai-options.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import { mapOpenAIUsage } from './map-openai-usage.js';
import { openAIContextWindows } from './openai-models.js';
import { readChatChunks } from './openai-sse.js';
import { createToolCallDeltas } from './openai-tool-call-deltas.js';
import { createStreamPost } from './stream-post.js';

export interface OpenAIProviderOptions {
  /** Provider name in errors and model lists; default `openai`. */
  name?: string;
  /** The kind reported for it; an OpenAI-compatible preset names its own. Default `openai`. */
  kind?: string;
  /** Windows of listed models (the list reports none); default OpenAI's. */
  contextWindows?: ContextWindowTable;
  apiKey: string;
  /** Default `https://api.openai.com/v1`; any OpenAI-compatible server works. */
  baseURL?: string;
  organization?: string;
  project?: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  /** Used when a request names no model. */
  defaultModel?: string;
  /** How long a model list is reused; default five minutes. */
  modelsRefreshMs?: number;
  /** SDK time-to-response-headers limit; default one hour, since the router owns real timeouts. */
  timeoutMs?: number;
}

/** A ChatProvider over the official `openai` SDK, with its retries off (the router retries). */
export function createOpenAIProvider(options: OpenAIProviderOptions): ChatProvider {
  const name = options.name ?? 'openai';
  const contextWindowOf = contextWindowLookup(options.contextWindows ?? openAIContextWindows);
  // Every option explicit: the SDK falls back to OPENAI_* environment variables for what is missing.
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? 'https://api.openai.com/v1',
    organization: options.organization ?? null,
    project: options.project ?? null,
    fetch: boundedFetch(options.fetch ?? fetch),
    defaultHeaders: options.headers,
    maxRetries: 0,
    timeout: options.timeoutMs ?? 60 * 60_000,
  });

  const baseURL = (options.baseURL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  // Without a caller's own fetch, streaming chat skips the SDK (see stream-post.ts); with one, it goes through it.
  const post = options.fetch
    ? undefined
    : createStreamPost({
        url: `${baseURL}/chat/completions`,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'switchyard',
          authorization: `Bearer ${options.apiKey}`,
          ...(options.organization ? { 'openai-organization': options.organization } : {}),
          ...(options.project ? { 'openai-project': options.project } : {}),
          ...options.headers,
        },
      });

  const listModels = createModelCache(
    (signal) =>
      guard({ provider: name, signal, phase: 'request' }, async () => {
        const models: ModelInfo[] = [];
        for await (const model of client.models.list({ signal })) {
          models.push({ id: model.id, provider: name, contextWindow: contextWindowOf(model.id) });
        }
        return models;
      }),
    options.modelsRefreshMs ?? DEFAULT_MODELS_REFRESH_MS,
  );

  async function* stream(request: ChatRequest): AsyncGenerator<StreamPart> {
    const ctx = { provider: name, signal: request.signal };
    let chunks: AsyncIterable<OpenAI.ChatCompletionChunk>;
    const body: OpenAI.ChatCompletionCreateParamsStreaming = {
      model: request.model || options.defaultModel || '',
      messages: convertToOpenAIMessages(request.messages),
      temperature: request.temperature,
      max_completion_tokens: request.maxTokens,
      ...convertToOpenAIOptions(request),
      stream: true,
      stream_options: { include_usage: true },
    };
    try {
      const answer = post
        ? await post(JSON.stringify(body), request.signal)
        : await client.chat.completions.create(body, { signal: request.signal }).asResponse();
      chunks = readChatChunks(answer, request.signal);
    } catch (error) {
      yield { type: 'error', error: toProviderError(error, { ...ctx, phase: 'request' }) };
      return;
    }

    let finishReason: string | undefined;
    // Reported once, in a last chunk whose `choices` is empty (stream_options.include_usage).
    let usage: TokenUsage | undefined;
    const toolCalls = createToolCallDeltas();
    const cut = (error: unknown): StreamPart => {
      const providerError = toProviderError(error, { ...ctx, phase: 'stream' });
      return usage ? { type: 'error', error: providerError, usage } : { type: 'error', error: providerError };
    };
    try {
      for await (const chunk of chunks) {
        if (chunk.usage) usage = mapOpenAIUsage(chunk.usage);
        const choice = chunk.choices[0];
        if (choice?.delta?.content) yield { type: 'text-delta', text: choice.delta.content };
        if (choice?.delta?.tool_calls) yield* toolCalls.parts(choice.delta.tool_calls);
        if (choice?.finish_reason) {
          finishReason = choice.finish_reason;
          yield* toolCalls.end();
        }
      }
    } catch (error) {
      yield cut(error);
      return;
    }
    // The SDK ends quietly on an abort and on a body that stops early: neither is a finish.
    if (request.signal?.aborted || finishReason === undefined) {
      yield cut(new Error('stream ended before a finish reason'));
      return;
    }
    yield {
      type: 'finish',
      usage: usage ?? { promptTokens: 0, completionTokens: 0 },
      finishReason: { unified: mapOpenAIFinishReason(finishReason), raw: finishReason },
    };
  }

  return {
    name,
    kind: options.kind ?? 'openai',
    stream,
    listModels,
    embed: (request: EmbedRequest) =>
      guard({ provider: name, signal: request.signal, phase: 'request' }, async () => {
        const response = await client.embeddings.create(
          { model: request.model, input: request.input, dimensions: request.dimensions },
          { signal: request.signal },
        );
        const embeddings = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
        // OpenAI always reports it; compatible servers may not.
        const promptTokens = tokenCount((response.usage as { prompt_tokens?: unknown } | undefined)?.prompt_tokens);
        return promptTokens === undefined ? { embeddings } : { embeddings, usage: { promptTokens } };
      }),
    probe: (signal: AbortSignal) =>
      guard({ provider: name, signal, phase: 'request' }, async () => {
        await client.models.list({ signal });
      }),
  };
}
