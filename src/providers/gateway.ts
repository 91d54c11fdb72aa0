import { type Config, ConfigError } from '../config.js';
import type { Tracing } from '../tracing/index.js';
import { providerDefinitions } from './definitions.js';
import { createHealthMonitor, type HealthMonitor } from './health/index.js';
import { listedContextWindow } from './listed-context-window.js';
import { providersFromConfig } from './providers-from-config.js';
import { createRouter, type Router } from './router/index.js';
import type { TrafficRecorder } from './router/traffic-recorder.js';

/** The router and the health monitor that watches the same providers. */
export interface ProviderGateway {
  router: Router;
  monitor: HealthMonitor;
  /**
   * Whether the router knows a model: the default, a configured deployment's, a provider kind's
   * default, or one its provider lists. Bounds the model label of metrics.
   */
  isKnownModel(provider: string, model: string): boolean;
  close(): void;
}

/** Builds every provider from config, a router over them, and starts active health probes. */
export function createProviderGateway(
  config: Config,
  /** Also told about real traffic, beside the health monitor (the metrics). */
  observe?: (recorder: TrafficRecorder) => TrafficRecorder,
  /** Spans per upstream call when tracing is on. */
  tracing?: Tracing,
): ProviderGateway {
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
      recorder: observe ? observe(monitor.recorder) : monitor.recorder,
      contextWindowOf: listedContextWindow(monitor),
      ...(tracing ? { tracing } : {}),
    });
  } catch (error) {
    // Routes naming unknown providers or an unroutable default are configuration mistakes.
    const variable = config.defaultModel ? 'DEFAULT_MODEL' : 'SWITCHYARD_CONFIG';
    const value = config.defaultModel ?? config.filePath;
    throw new ConfigError(variable, value, `routes to registered providers (${(error as Error).message})`);
  }
  monitor.start();
  const configured = new Set<string>(providerDefinitions.map((d) => d.defaultModel));
  for (const alias of Object.values(routing.aliases ?? {})) for (const d of alias.deployments) configured.add(d.model);
  configured.add(router.defaultModel.slice(router.defaultModel.indexOf('/') + 1));
  const isKnownModel = (provider: string, model: string) =>
    configured.has(model) ||
    (monitor.get(provider)?.models.some((m) => m.id === model || m.id === `${model}:latest`) ?? false);
  return { router, monitor, isKnownModel, close: () => monitor.stop() };
}
