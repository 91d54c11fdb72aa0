/** Turns texts into vectors of one fixed length, in the order given. */
export interface Embedder {
  /** Where vectors come from, e.g. `local/hash-384`, `openai/text-embedding-3-small`. */
  readonly model: string;
  /** Vector length; 0 while a remote model's is not yet known (see createRouterEmbedder). */
  readonly dimensions: number;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
