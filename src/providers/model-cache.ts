import type { ModelInfo } from './types.js';

/** Five minutes: model lists change rarely and listing them costs a request. */
export const DEFAULT_MODELS_REFRESH_MS = 5 * 60_000;

/**
 * Caches a provider's model list for `refreshMs`. When a refresh fails and an older list exists,
 * the older list is served: a provider blip should not empty the catalogue (the probe reports health).
 */
export function createModelCache(
  load: (signal?: AbortSignal) => Promise<ModelInfo[]>,
  refreshMs: number = DEFAULT_MODELS_REFRESH_MS,
): (signal?: AbortSignal) => Promise<ModelInfo[]> {
  let cached: { models: ModelInfo[]; at: number } | undefined;
  return async (signal) => {
    if (cached && Date.now() - cached.at < refreshMs) return cached.models;
    try {
      const models = await load(signal);
      cached = { models, at: Date.now() };
      return models;
    } catch (error) {
      if (cached && !signal?.aborted) return cached.models;
      throw error;
    }
  };
}
