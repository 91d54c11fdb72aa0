import { knownContextWindow } from '../providers/definitions.js';
import type { HealthMonitor } from '../providers/health/index.js';

/** When neither the provider nor our table knows, assume a small window rather than overflow. */
export const FALLBACK_CONTEXT_WINDOW = 8_192;

/** Model lists change rarely; a health snapshot costs sorting latency windows, so look once a minute. */
const CACHE_MS = 60_000;

export type ContextWindowLookup = (provider: string, model: string) => number;

/**
 * The context window of a provider's model, from the model list the health probes keep fresh
 * (no request on the chat path), else from the table of well-known models.
 */
export function createContextWindowLookup(monitor: HealthMonitor, now = Date.now): ContextWindowLookup {
  const cache = new Map<string, { window: number; at: number }>();
  return (provider, model) => {
    const key = `${provider}/${model}`;
    const hit = cache.get(key);
    if (hit && now() - hit.at < CACHE_MS) return hit.window;
    const health = monitor.get(provider);
    const listed = health?.models.find((m) => m.id === model || m.id === `${model}:latest`);
    const known = health ? knownContextWindow(health.kind, model) : undefined;
    const window = listed?.contextWindow ?? known ?? FALLBACK_CONTEXT_WINDOW;
    cache.set(key, { window, at: now() });
    return window;
  };
}
