import { createScratch, hashedVector } from './hashed-features.js';
import type { Embedder } from './types.js';

export interface LocalEmbedderOptions {
  /** Default 384. */
  dimensions?: number;
  /** Computes the same vectors elsewhere (HeavyWork.embed, a worker thread), for batches worth moving. */
  offload?: (texts: string[], dimensions: number, signal?: AbortSignal) => Promise<number[][]>;
}

/** Below this many characters a batch is embedded in place: a query takes microseconds, a trip to a thread more. */
const OFFLOAD_CHARS = 16_384;

/**
 * An embedder that needs no model weights and no network: hashed word, word-pair and character
 * trigram features. Texts that share words score clearly closer than unrelated ones, which is
 * enough for retrieval in development and tests, and it is fast (over 100k short texts per
 * CPU second). Big batches (a document's chunks) go to `offload` when given, off the event loop.
 */
export function createLocalEmbedder(options: LocalEmbedderOptions = {}): Embedder {
  const dimensions = options.dimensions ?? 384;
  if (!Number.isInteger(dimensions) || dimensions < 8 || dimensions > 16_000)
    throw new RangeError(`Local embedder dimensions must be an integer from 8 to 16000, got ${dimensions}`);
  const scratch = createScratch();
  return {
    model: `local/hash-${dimensions}`,
    dimensions,
    async embed(texts, { signal } = {}) {
      signal?.throwIfAborted();
      const { offload } = options;
      if (offload && texts.reduce((sum, text) => sum + text.length, 0) > OFFLOAD_CHARS)
        return offload(texts, dimensions, signal);
      return texts.map((text) => hashedVector(text, dimensions, scratch));
    },
  };
}
