import { createScratch, hashedVector } from './hashed-features.js';
import type { Embedder } from './types.js';

export interface LocalEmbedderOptions {
  /** Default 384. */
  dimensions?: number;
}

/**
 * An embedder that needs no model weights and no network: hashed word, word-pair and character
 * trigram features. Texts that share words score clearly closer than unrelated ones, which is
 * enough for retrieval in development and tests, and it is fast (over 100k short texts per
 * CPU second).
 */
export function createLocalEmbedder(options: LocalEmbedderOptions = {}): Embedder {
  const dimensions = options.dimensions ?? 384;
  if (!Number.isInteger(dimensions) || dimensions < 8 || dimensions > 16_000)
    throw new RangeError(`Local embedder dimensions must be an integer from 8 to 16000, got ${dimensions}`);
  const scratch = createScratch();
  return {
    model: `local/hash-${dimensions}`,
    dimensions,
    async embed(texts, signal) {
      signal?.throwIfAborted();
      return texts.map((text) => hashedVector(text, dimensions, scratch));
    },
  };
}
