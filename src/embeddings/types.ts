/** The tokens one embedding call used, as its provider reported them. */
export interface EmbeddingUsage {
  promptTokens: number;
}

export interface EmbedOptions {
  signal?: AbortSignal | undefined;
  /**
   * Told, once the call succeeded, the tokens the provider reported for it (summed over its
   * batches); never called when no provider reports any (the local embedder).
   */
  onUsage?: ((usage: EmbeddingUsage) => void) | undefined;
}

/** Turns texts into vectors of one fixed length, in the order given. */
export interface Embedder {
  /** Where vectors come from, e.g. `local/hash-384`, `openai/text-embedding-3-small`. */
  readonly model: string;
  /** Vector length; 0 while a remote model's is not yet known (see createRouterEmbedder). */
  readonly dimensions: number;
  embed(texts: string[], options?: EmbedOptions): Promise<number[][]>;
}

/**
 * Where remote vectors come from: the provider router (src/providers/router), which routes, retries
 * and falls back. Named here by what this adapter asks of it, so embeddings need no provider import.
 */
export interface EmbeddingRoute {
  embed(request: {
    model: string;
    input: string[];
    dimensions?: number;
    signal?: AbortSignal;
  }): Promise<{ embeddings: number[][]; usage?: EmbeddingUsage | undefined }>;
}
