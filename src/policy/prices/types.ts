/** USD per million tokens. `cachedInput`: prompt tokens served from the provider's cache, where billed apart. */
export interface ModelPrice {
  input: number;
  output: number;
  cachedInput?: number | undefined;
  /** Anthropic's cache writes (prompt tokens written to the cache), where billed apart. */
  cacheWrite?: number | undefined;
}

/** Tokens of one generation as the provider reported them (or the gateway counted them). */
export interface BilledUsage {
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens, read from the provider's cache. */
  cachedPromptTokens?: number | undefined;
  /** Of promptTokens, written to the provider's cache. */
  cacheWritePromptTokens?: number | undefined;
}

/** Which deployment answered: its provider kind (openai, anthropic, ollama, mock, ...) and model id. */
export interface PricedModel {
  kind: string;
  model: string;
  /** The deployment's registered name when it is a named one (`providers:` in the config file). */
  provider?: string | undefined;
}

export interface PriceBook {
  /** The price of a model, or null when it is unknown (cost is then unknown too). Local kinds are free. */
  priceOf(target: PricedModel): ModelPrice | null;
  /** Nano-dollars (1e-9 USD, rounded up) a generation cost, or null when the model has no known price. */
  costNanos(target: PricedModel, usage: BilledUsage): number | null;
}
