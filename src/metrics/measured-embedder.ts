import type { Metrics } from './metrics.js';

/** The shape of src/embeddings' Embedder, restated so that metrics import no adapter. */
interface EmbedderLike {
  readonly model: string;
  embed(texts: string[], options?: object): Promise<number[][]>;
}

/**
 * The embedder, its calls timed into the GenAI duration histogram with
 * `gen_ai.operation.name=embeddings` (provider and model from its spec: `openai/text-embedding-3-small`).
 */
export function measuredEmbedder<T extends EmbedderLike>(embedder: T, metrics: Pick<Metrics, 'embedded'>): T {
  const slash = embedder.model.indexOf('/');
  const provider = slash === -1 ? embedder.model : embedder.model.slice(0, slash);
  const model = slash === -1 ? embedder.model : embedder.model.slice(slash + 1);
  const embed = embedder.embed.bind(embedder);
  return Object.assign(Object.create(embedder) as T, {
    async embed(texts: string[], options?: object) {
      const started = performance.now();
      try {
        const vectors = await embed(texts, options);
        metrics.embedded(provider, model, performance.now() - started, null);
        return vectors;
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        metrics.embedded(provider, model, performance.now() - started, typeof code === 'string' ? code : 'ERROR');
        throw error;
      }
    },
  });
}
