import { createLocalEmbedder, type LocalEmbedderOptions } from './local-embedder.js';
import { createRouterEmbedder } from './router-embedder.js';
import type { Embedder, EmbeddingRoute } from './types.js';

const ALLOWED = "'local', 'local/hash-<dimensions>' (default local/hash-384), 'openai/<model>' or 'ollama/<model>'";

/**
 * The embedder a configuration string names: nothing or `local` for the built-in hashing
 * embedder, `openai/<model>` or `ollama/<model>` for a provider's model through the router.
 *
 * @example
 * embedderFromSpec(config.embeddingModel, router) // 'openai/text-embedding-3-small' -> router embedder
 */
export function embedderFromSpec(
  spec: string | undefined,
  router: EmbeddingRoute,
  local: Pick<LocalEmbedderOptions, 'offload'> = {},
): Embedder {
  const value = spec?.trim() ?? '';
  if (value === '' || value === 'local') return createLocalEmbedder(local);
  const hashed = /^local\/hash-(\d+)$/.exec(value);
  if (hashed) return createLocalEmbedder({ ...local, dimensions: Number(hashed[1]) });
  const remote = /^(openai|ollama)\/(.+)$/.exec(value);
  if (remote?.[2]?.trim()) return createRouterEmbedder({ router, model: value });
  throw new Error(`Unknown embedding model "${spec}": use ${ALLOWED}`);
}
