import Anthropic from '@anthropic-ai/sdk';
import { boundedFetch } from '../bounded-fetch.js';
import { contextWindowLookup } from '../definition.js';
import { createModelCache, DEFAULT_MODELS_REFRESH_MS } from '../model-cache.js';
import type { ProviderError } from '../provider-error.js';
import { guard, toProviderError } from '../sdk-error.js';
import type { ChatProvider, ChatRequest, ModelInfo, StreamPart } from '../types.js';
import { anthropicContextWindows } from './anthropic-models.js';
import { createAnthropicUsage } from './anthropic-usage.js';
import { convertToAnthropicMessages } from './convert-to-anthropic-messages.js';
import { convertToAnthropicOptions, JSON_TOOL_NAME, jsonToolSchema } from './convert-to-anthropic-options.js';
import { mapAnthropicFinishReason } from './map-anthropic-finish-reason.js';

const knownContextWindow = contextWindowLookup(anthropicContextWindows);

export interface AnthropicProviderOptions {
  /** Provider name in errors and model lists; default `anthropic`. */
  name?: string;
  apiKey: string;
  /** Default `https://api.anthropic.com`. */
  baseURL?: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  /** Used when a request names no model. */
  defaultModel?: string;
  /** `max_tokens` is required by the API; this is sent when a request sets none. Default 4096. */
  defaultMaxTokens?: number;
  /** How long a model list is reused; default five minutes. */
  modelsRefreshMs?: number;
  /** SDK time-to-response-headers limit; default one hour, since the router owns real timeouts. */
  timeoutMs?: number;
}

/** A ChatProvider over the official `@anthropic-ai/sdk`, with its retries off (the router retries). Anthropic cannot embed. */
export function createAnthropicProvider(options: AnthropicProviderOptions): ChatProvider {
  const name = options.name ?? 'anthropic';
  // baseURL explicit: the SDK falls back to ANTHROPIC_BASE_URL otherwise (a passed apiKey stops the key lookup).
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? 'https://api.anthropic.com',
    fetch: boundedFetch(options.fetch ?? fetch),
    defaultHeaders: options.headers,
    maxRetries: 0,
    timeout: options.timeoutMs ?? 60 * 60_000,
  });

  const listModels = createModelCache(
    (signal) =>
      guard({ provider: name, signal, phase: 'request' }, async () => {
        const models: ModelInfo[] = [];
        for await (const model of client.models.list({ limit: 100 }, { signal })) {
          const contextWindow = model.max_input_tokens ?? knownContextWindow(model.id);
          models.push({ id: model.id, provider: name, contextWindow });
        }
        return models;
      }),
    options.modelsRefreshMs ?? DEFAULT_MODELS_REFRESH_MS,
  );

  async function* stream(request: ChatRequest): AsyncGenerator<StreamPart> {
    const ctx = { provider: name, signal: request.signal };
    let events: AsyncIterable<Anthropic.RawMessageStreamEvent>;
    try {
      const prompt = convertToAnthropicMessages(request.messages);
      events = await client.messages.create(
        {
          model: request.model || options.defaultModel || '',
          system: prompt.system,
          messages: prompt.messages,
          max_tokens: request.maxTokens ?? options.defaultMaxTokens ?? 4096,
          ...convertToAnthropicOptions(request),
          // no temperature: API version 2026-10-21 (SDK 1.x) removed the sampling parameters
          stream: true,
        },
        { signal: request.signal },
      );
    } catch (error) {
      yield { type: 'error', error: toProviderError(error, { ...ctx, phase: 'request' }) };
      return;
    }

    const usage = createAnthropicUsage();
    /** An error part carrying what Anthropic had reported so far (the prompt, from message_start). */
    const cut = (error: ProviderError): StreamPart => {
      const partial = usage.partial();
      return partial ? { type: 'error', error, usage: partial } : { type: 'error', error };
    };
    let stopReason: string | undefined;
    let stopped = false;
    // tool_use blocks by index: a call's id, or `json` for the forced tool whose input is the reply
    const toolBlocks = new Map<number, string>();
    const jsonMode = jsonToolSchema(request) !== undefined;
    let calledTools = false;
    try {
      for await (const event of events) {
        switch (event.type) {
          case 'message_start':
            usage.start(event.message.usage);
            break;
          case 'content_block_start':
            if (event.content_block.type !== 'tool_use') break;
            if (jsonMode && event.content_block.name === JSON_TOOL_NAME) {
              toolBlocks.set(event.index, JSON_TOOL_NAME);
              break;
            }
            calledTools = true;
            toolBlocks.set(event.index, event.content_block.id);
            yield { type: 'tool-call-start', id: event.content_block.id, name: event.content_block.name };
            break;
          case 'content_block_delta': {
            const { delta } = event;
            if (delta.type === 'text_delta' && delta.text) yield { type: 'text-delta', text: delta.text };
            const id = toolBlocks.get(event.index);
            if (delta.type !== 'input_json_delta' || !delta.partial_json || id === undefined) break;
            if (id === JSON_TOOL_NAME) yield { type: 'text-delta', text: delta.partial_json };
            else yield { type: 'tool-call-delta', id, argumentsDelta: delta.partial_json };
            break;
          }
          case 'content_block_stop': {
            const id = toolBlocks.get(event.index);
            if (id !== undefined && id !== JSON_TOOL_NAME) yield { type: 'tool-call-end', id };
            break;
          }
          case 'message_delta':
            stopReason = event.delta.stop_reason ?? undefined;
            usage.delta(event.usage);
            break;
          case 'message_stop':
            stopped = true;
            break;
        }
      }
    } catch (error) {
      yield cut(toProviderError(error, { ...ctx, phase: 'stream' }));
      return;
    }
    // The SDK ends quietly on an abort and on a body that stops early: only message_stop is a finish.
    if (request.signal?.aborted || !stopped) {
      yield cut(toProviderError(new Error('stream ended before message_stop'), { ...ctx, phase: 'stream' }));
      return;
    }
    yield {
      type: 'finish',
      usage: usage.total(),
      // the forced JSON tool ends with tool_use too, but the reply is its text
      finishReason: {
        unified: stopReason === 'tool_use' && !calledTools ? 'stop' : mapAnthropicFinishReason(stopReason),
        raw: stopReason,
      },
    };
  }

  return {
    name,
    kind: 'anthropic',
    stream,
    listModels,
    probe: (signal: AbortSignal) =>
      guard({ provider: name, signal, phase: 'request' }, async () => {
        await client.models.list({ limit: 1 }, { signal });
      }),
  };
}
