import type { Embedder, EmbeddingRoute } from './types.js';

export interface RouterEmbedderOptions {
  router: EmbeddingRoute;
  /** A routable model: `openai/text-embedding-3-small`, `ollama/nomic-embed-text`, an alias. */
  model: string;
  /** Asked of the provider (OpenAI shortens vectors to it); when absent the first reply decides. */
  dimensions?: number;
  /** Texts per upstream request; default 96. */
  batchSize?: number;
}

/**
 * Embeds through the router, so remote embeddings get the same retries, circuit breakers and
 * fallbacks as chat. Sends batches one after another and checks that every vector has the same
 * length: the configured `dimensions`, else whatever the first reply had. The tokens the
 * providers reported go to `onUsage`, once, for the whole call.
 */
export function createRouterEmbedder(options: RouterEmbedderOptions): Embedder {
  const { router, model } = options;
  const batchSize = options.batchSize ?? 96;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (options.dimensions !== undefined && (!Number.isInteger(options.dimensions) || options.dimensions < 1))
    throw new RangeError(`dimensions must be a positive integer, got ${options.dimensions}`);
  let dimensions = options.dimensions;

  return {
    model,
    get dimensions() {
      return dimensions ?? 0;
    },
    async embed(texts, { signal, onUsage } = {}) {
      const vectors: number[][] = [];
      let promptTokens: number | undefined;
      for (let start = 0; start < texts.length; start += batchSize) {
        signal?.throwIfAborted();
        const input = texts.slice(start, start + batchSize);
        const { embeddings, usage } = await router.embed({ model, input, dimensions: options.dimensions, signal });
        if (usage) promptTokens = (promptTokens ?? 0) + usage.promptTokens;
        if (embeddings.length !== input.length)
          throw new Error(`${model} returned ${embeddings.length} embeddings for ${input.length} texts`);
        for (const vector of embeddings) {
          dimensions ??= vector.length;
          if (vector.length !== dimensions)
            throw new Error(
              `${model} returned a vector of ${vector.length} dimensions where ${dimensions} were expected` +
                (options.dimensions === undefined ? ' (set by its first reply)' : ''),
            );
          vectors.push(vector);
        }
      }
      if (promptTokens !== undefined) onUsage?.({ promptTokens });
      return vectors;
    },
  };
}
