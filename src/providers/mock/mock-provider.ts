import { ProviderError } from '../provider-error.js';
import type { ChatProvider, ChatRequest, EmbedRequest, ModelInfo, StreamPart } from '../types.js';
import { mockEmbedding } from './mock-embedding.js';
import { approximateTokens, mockReplyText, splitIntoTokens } from './mock-reply.js';

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
 * The zero-config provider: deterministic replies ("Mock reply to: <last user message>") streamed
 * word by word, usage by a chars/4 estimate, hashed embeddings. `kind` is `mock`, and every model
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
    const tokens = splitIntoTokens(mockReplyText(request.messages));
    const limit = request.maxTokens ?? Number.POSITIVE_INFINITY;
    const emitted = tokens.slice(0, Math.max(0, limit));
    const promptTokens = request.messages.reduce((sum, m) => sum + approximateTokens(m.content), 0);
    let sent = 0;
    for (const text of emitted) {
      try {
        if (request.signal?.aborted) throw request.signal.reason;
        await sleep(tokenDelayMs, request.signal);
      } catch {
        // like a provider that reports as it goes: what a cancelled reply used so far
        yield { type: 'error', error: cancelled(), usage: { promptTokens, completionTokens: sent } };
        return;
      }
      sent += 1;
      yield { type: 'text-delta', text };
    }
    const truncated = emitted.length < tokens.length;
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
      return request.input.map((text) => mockEmbedding(text, request.dimensions ?? dimensions));
    },
    probe: async (signal: AbortSignal) => {
      if (signal.aborted) throw cancelled();
    },
  };
}
