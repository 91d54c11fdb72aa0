import { randomUUID } from 'node:crypto';
import { type AbortableAsyncIterator, type ChatResponse, Ollama } from 'ollama';
import { boundedFetch } from '../bounded-fetch.js';
import { createModelCache, DEFAULT_MODELS_REFRESH_MS } from '../model-cache.js';
import { ProviderError } from '../provider-error.js';
import { tokenCount } from '../reported-usage.js';
import { type ErrorContext, guard, toProviderError } from '../sdk-error.js';
import type { ChatProvider, ChatRequest, EmbedRequest, StreamPart } from '../types.js';
import { bindFetch } from './bind-fetch.js';
import { convertToOllamaMessages } from './convert-to-ollama-messages.js';
import { convertToOllamaOptions } from './convert-to-ollama-options.js';
import { mapOllamaFinishReason } from './map-ollama-finish-reason.js';

export interface OllamaProviderOptions {
  /** Provider name in errors and model lists; default `ollama`. */
  name?: string;
  /** Default `http://127.0.0.1:11434`. */
  host?: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  /** Used when a request names no model. */
  defaultModel?: string;
  /** How long a model list is reused; default five minutes. */
  modelsRefreshMs?: number;
  /** Ask `/api/show` for each model's context window when listing; default true. */
  showModelDetails?: boolean;
}

/** A ChatProvider over the official `ollama` SDK (which has no retries of its own). */
export function createOllamaProvider(options: OllamaProviderOptions = {}): ChatProvider {
  const name = options.name ?? 'ollama';
  const host = options.host ?? 'http://127.0.0.1:11434';
  const baseFetch = boundedFetch(options.fetch ?? fetch);

  /** A client per call, cheap to build, so the caller's signal reaches every request it makes. */
  function connect(signal: AbortSignal | undefined) {
    const bound = bindFetch(baseFetch, signal);
    const client = new Ollama({ host, fetch: bound.fetch, headers: options.headers });
    // headers read lazily: they exist only once a response has arrived
    const headers = { get: (header: string) => bound.lastHeaders()?.get(header) };
    const ctx = (phase: ErrorContext['phase']): ErrorContext => ({ provider: name, signal, phase, headers });
    return { client, ctx };
  }

  async function contextWindow(client: Ollama, model: string): Promise<number | undefined> {
    const shown = await client.show({ model });
    const info = (shown.model_info ?? {}) as unknown as Record<string, unknown>;
    const value = Object.entries(info).find(([key]) => key.endsWith('.context_length'))?.[1];
    return typeof value === 'number' ? value : undefined;
  }

  const listModels = createModelCache(async (signal) => {
    const { client, ctx } = connect(signal);
    return guard(ctx('request'), async () => {
      const { models } = await client.list();
      return Promise.all(
        models.map(async (model) => ({
          id: model.name,
          provider: name,
          contextWindow:
            options.showModelDetails === false
              ? undefined
              : await contextWindow(client, model.name).catch((error: unknown) => {
                  // one model without details should not hide the others, unless the caller gave up
                  if (signal?.aborted) throw error;
                  return undefined;
                }),
        })),
      );
    });
  }, options.modelsRefreshMs ?? DEFAULT_MODELS_REFRESH_MS);

  async function* stream(request: ChatRequest): AsyncGenerator<StreamPart> {
    const remote = request.messages.some((m) => m.images?.some((image) => !image.url.startsWith('data:')));
    if (remote) {
      // Ollama takes image bytes only, and the gateway does not fetch URLs a caller names (SSRF).
      const message = `${name}: images must be data: URLs (base64); remote image URLs are not fetched`;
      yield {
        type: 'error',
        error: new ProviderError({ provider: name, code: 'UPSTREAM_ERROR', message, status: 400 }),
      };
      return;
    }
    const { client, ctx } = connect(request.signal);
    let parts: AbortableAsyncIterator<ChatResponse>;
    try {
      parts = await client.chat({
        model: request.model || options.defaultModel || '',
        messages: convertToOllamaMessages(request.messages),
        ...convertToOllamaOptions(request),
        stream: true,
        options: {
          temperature: request.temperature,
          num_predict: request.maxTokens,
          ...(request.stop?.length && { stop: request.stop }),
        },
      });
    } catch (error) {
      yield { type: 'error', error: toProviderError(error, ctx('request')) };
      return;
    }

    let done: ChatResponse | undefined;
    let calls = 0;
    try {
      for await (const part of parts) {
        if (part.message?.content) yield { type: 'text-delta', text: part.message.content };
        // whole calls at once: start, the arguments in one delta, end
        for (const call of part.message?.tool_calls ?? []) {
          const id = (call as { id?: string }).id ?? `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
          calls += 1;
          yield { type: 'tool-call-start', id, name: call.function.name };
          yield { type: 'tool-call-delta', id, argumentsDelta: JSON.stringify(call.function.arguments ?? {}) };
          yield { type: 'tool-call-end', id };
        }
        if (part.done) done = part;
      }
    } catch (error) {
      yield { type: 'error', error: toProviderError(error, ctx('stream')) };
      return;
    } finally {
      // The SDK does not cancel the body when iteration stops early (a consumer's break): we do.
      if (!done) parts.abort();
    }
    if (request.signal?.aborted || !done) {
      yield { type: 'error', error: toProviderError(new Error('stream ended before done'), ctx('stream')) };
      return;
    }
    yield {
      type: 'finish',
      usage: { promptTokens: done.prompt_eval_count ?? 0, completionTokens: done.eval_count ?? 0 },
      // Ollama ends a turn that calls tools with `stop`
      finishReason: {
        unified: calls > 0 ? 'tool-calls' : mapOllamaFinishReason(done.done_reason),
        raw: done.done_reason || undefined,
      },
    };
  }

  return {
    name,
    kind: 'ollama',
    stream,
    listModels,
    async embed(request: EmbedRequest) {
      const { client, ctx } = connect(request.signal);
      return guard(ctx('request'), async () => {
        const response = await client.embed({
          model: request.model,
          input: request.input,
          dimensions: request.dimensions,
        });
        const promptTokens = tokenCount((response as { prompt_eval_count?: unknown }).prompt_eval_count);
        return promptTokens === undefined
          ? { embeddings: response.embeddings }
          : { embeddings: response.embeddings, usage: { promptTokens } };
      });
    },
    async probe(signal: AbortSignal) {
      const { client, ctx } = connect(signal);
      await guard(ctx('request'), () => client.list());
    },
  };
}
