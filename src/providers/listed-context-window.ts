import { LRUCache } from 'lru-cache';
import type { HealthMonitor } from './health/index.js';

/** Model lists change rarely; a health snapshot costs sorting latency windows, so look once a minute. */
const CACHE_MS = 60_000;

/**
 * A model's context window as its provider lists it, from the lists the health probes keep fresh
 * (no request on the chat path); `undefined` when the list does not say.
 */
export function listedContextWindow(monitor: HealthMonitor): (provider: string, model: string) => number | undefined {
  const cache = new LRUCache<string, { window: number | undefined }>({ max: 1_000, ttl: CACHE_MS });
  return (provider, model) => {
    const key = `${provider}/${model}`;
    let hit = cache.get(key);
    if (!hit) {
      const listed = monitor.get(provider)?.models.find((m) => m.id === model || m.id === `${model}:latest`);
      hit = { window: listed?.contextWindow };
      cache.set(key, hit);
    }
    return hit.window;
  };
}
