import { LRUCache } from 'lru-cache';
import type { ModelInfo } from './types.js';

/** Five minutes: model lists change rarely and listing them costs a request. */
export const DEFAULT_MODELS_REFRESH_MS = 5 * 60_000;

const MODELS = 'models';

/**
 * Caches a provider's model list for `refreshMs` (0: every call lists). When a refresh fails and an
 * older list exists, the older list is served: a provider blip should not empty the catalogue (the
 * probe reports health). An aborted call gets its error, not the older list. `clock` is for tests.
 */
export function createModelCache(
  load: (signal?: AbortSignal) => Promise<ModelInfo[]>,
  refreshMs: number = DEFAULT_MODELS_REFRESH_MS,
  clock: { now(): number } = performance,
): (signal?: AbortSignal) => Promise<ModelInfo[]> {
  // One entry, kept past its ttl (a stale get does not delete it) as the fallback; read rarely,
  // so the clock is read on every get rather than cached for a millisecond.
  const cache = new LRUCache<typeof MODELS, ModelInfo[]>({
    max: 1,
    ttl: refreshMs,
    noDeleteOnStaleGet: true,
    ttlResolution: 0,
    perf: clock,
  });
  return async (signal) => {
    const fresh = refreshMs > 0 ? cache.get(MODELS) : undefined; // lru-cache reads a ttl of 0 as "forever"
    if (fresh) return fresh;
    try {
      const models = await load(signal);
      cache.set(MODELS, models);
      return models;
    } catch (error) {
      const older = cache.get(MODELS, { allowStale: true });
      if (older && !signal?.aborted) return older;
      throw error;
    }
  };
}
