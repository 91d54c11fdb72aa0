import { ProviderError } from '../provider-error.js';
import type { ChatProvider, ChatRequest, EmbedRequest, ModelInfo, StreamPart } from '../types.js';
import { mockEmbedding } from './mock-embedding.js';
import { approximateTokens, planMockReply } from './mock-reply.js';

export interface MockProviderOptions {
  /** Defaults to `mock`. */
  name?: string;
  /** Pause before each token, so streaming is visible; 0 streams at once. Defaults to 20 ms. */
  tokenDelayMs?: number;
  /** Model ids (or full infos) it lists; defaults to `mock-echo`. It answers any model id. */
  models?: ReadonlyArray<string | Omit<ModelInfo, 'provider'>>;
  /** Vector size for embed() when the request gives none; defaults to 256. */
  embeddingDimensions?: number;
}

/** The built-in provider's model ids all start with this, so clients can tell it is a mock. */
export const MOCK_MODEL_PREFIX = 'mock-';

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The zero-config provider: deterministic replies ("Mock reply to: <last user message>"; tool calls,
 * JSON, images and stop as planMockReply documents) streamed word by word, usage by a chars/4
 * estimate, hashed embeddings. `kind` is `mock`, and every model
 * id starts with `mock-`, so the GraphQL layer can label it.
 */
export function createMockProvider(options: MockProviderOptions = {}): ChatProvider {
  const name = options.name ?? 'mock';
  const tokenDelayMs = options.tokenDelayMs ?? 20;
  const dimensions = options.embeddingDimensions ?? 256;
  const models: ModelInfo[] = (options.models ?? [`${MOCK_MODEL_PREFIX}echo`]).map((m) =>
    typeof m === 'string' ? { id: m, provider: name, contextWindow: 8192 } : { ...m, provider: name },
  );
  const cancelled = () => new ProviderError({ provider: name, code: 'CANCELLED', message: 'Request was cancelled' });

  async function* stream(request: ChatRequest): AsyncGenerator<StreamPart> {
    const reply = planMockReply(request);
    const promptTokens = request.messages.reduce((sum, m) => sum + approximateTokens(m.content), 0);
    const pieces = reply.kind === 'text' ? reply.tokens : reply.pieces;
    const limit = reply.kind === 'text' ? (request.maxTokens ?? Number.POSITIVE_INFINITY) : pieces.length;
    const emitted = pieces.slice(0, Math.max(0, limit));
    if (reply.kind === 'tool-call') yield { type: 'tool-call-start', id: reply.call.id, name: reply.call.name };
    let sent = 0;
    for (const piece of emitted) {
      try {
        if (request.signal?.aborted) throw request.signal.reason;
        await sleep(tokenDelayMs, request.signal);
      } catch {
        // like a provider that reports as it goes: what a cancelled reply used so far
        yield { type: 'error', error: cancelled(), usage: { promptTokens, completionTokens: sent } };
        return;
      }
      sent += 1;
      yield reply.kind === 'text'
        ? { type: 'text-delta', text: piece }
        : { type: 'tool-call-delta', id: reply.call.id, argumentsDelta: piece };
    }
    if (reply.kind === 'tool-call') {
      yield { type: 'tool-call-end', id: reply.call.id };
      yield {
        type: 'finish',
        usage: { promptTokens, completionTokens: approximateTokens(reply.call.arguments) },
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      };
      return;
    }
    const truncated = emitted.length < pieces.length;
    yield {
      type: 'finish',
      usage: { promptTokens, completionTokens: emitted.length },
      finishReason: truncated ? { unified: 'length', raw: 'length' } : { unified: 'stop', raw: 'stop' },
    };
  }

  return {
    name,
    kind: 'mock',
    stream,
    listModels: async () => models.map((m) => ({ ...m })),
    embed: async (request: EmbedRequest) => {
      if (request.signal?.aborted) throw cancelled();
      return { embeddings: request.input.map((text) => mockEmbedding(text, request.dimensions ?? dimensions)) };
    },
    probe: async (signal: AbortSignal) => {
      if (signal.aborted) throw cancelled();
    },
  };
}
