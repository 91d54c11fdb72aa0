import { knownContextWindow } from '../providers/context-windows.js';
import type { HealthMonitor } from '../providers/health/index.js';

/** When neither the provider nor our table knows, assume a small window rather than overflow. */
export const FALLBACK_CONTEXT_WINDOW = 8_192;

/**
 * The context window of a provider's model, from the model list the health probes keep fresh
 * (no request on the chat path), else from the table of well-known models.
 */
export function contextWindowOf(monitor: HealthMonitor, provider: string, model: string): number {
  const models = monitor.get(provider)?.models ?? [];
  const listed = models.find((m) => m.id === model || m.id === `${model}:latest`);
  return listed?.contextWindow ?? knownContextWindow(model) ?? FALLBACK_CONTEXT_WINDOW;
}
