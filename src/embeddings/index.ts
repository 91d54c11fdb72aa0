export { cosine } from './cosine.js';
export { embedderFromSpec } from './embedder-from-spec.js';
export { createLocalEmbedder, type LocalEmbedderOptions } from './local-embedder.js';
export { createRouterEmbedder, type RouterEmbedderOptions } from './router-embedder.js';
export type { Embedder, EmbeddingRoute, EmbeddingUsage, EmbedOptions } from './types.js';
