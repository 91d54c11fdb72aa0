import { type Config, ConfigError } from '../config.js';
import { createHealthMonitor, type HealthMonitor } from './health/index.js';
import { listedContextWindow } from './listed-context-window.js';
import { providersFromConfig } from './providers-from-config.js';
import { createRouter, type Router } from './router/index.js';

/** The router and the health monitor that watches the same providers. */
export interface ProviderGateway {
  router: Router;
  monitor: HealthMonitor;
  close(): void;
}

/** Builds every provider from config, a router over them, and starts active health probes. */
export function createProviderGateway(config: Config): ProviderGateway {
  const providers = providersFromConfig(config);
  const { health, providers: _named, chat: _chat, ...routing } = config.file;
  const monitor = createHealthMonitor({
    providers,
    intervalMs: health.intervalMs,
    probeTimeoutMs: health.probeTimeoutMs,
  });
  let router: Router;
  try {
    router = createRouter({
      ...routing,
      defaultModel: config.defaultModel ?? routing.defaultModel,
      providers,
      isAvailable: monitor.isAvailable,
      recorder: monitor.recorder,
      contextWindowOf: listedContextWindow(monitor),
    });
  } catch (error) {
    // Routes naming unknown providers or an unroutable default are configuration mistakes.
    const variable = config.defaultModel ? 'DEFAULT_MODEL' : 'SWITCHYARD_CONFIG';
    const value = config.defaultModel ?? config.filePath;
    throw new ConfigError(variable, value, `routes to registered providers (${(error as Error).message})`);
  }
  monitor.start();
  return { router, monitor, close: () => monitor.stop() };
}
