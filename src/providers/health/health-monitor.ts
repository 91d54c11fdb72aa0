import { TimeoutStrategy, timeout } from 'cockatiel';
import { createProviderRegistry, type ProviderInput } from '../registry.js';
import type { TrafficRecorder } from '../router/traffic-recorder.js';
import { createProviderTracker, type ProviderTracker } from './provider-tracker.js';
import { overallStatus } from './status-rules.js';
import { defaultThresholds, type HealthThresholds, type OverallStatus, type ProviderHealthSnapshot } from './types.js';

export interface HealthTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface HealthMonitorOptions {
  /** The same list the router gets. */
  providers: readonly ProviderInput[];
  /** Between probe rounds; defaults to 15 s. */
  intervalMs?: number;
  /** Per probe (and model listing); defaults to 5 s. */
  probeTimeoutMs?: number;
  /** Passive figures cover this recent span; defaults to 5 min. */
  windowMs?: number;
  /** Per provider and figure; bounds memory under heavy traffic. Defaults to 1,000. */
  maxSamples?: number;
  thresholds?: Partial<HealthThresholds>;
  /** Wall-clock milliseconds. */
  now?: () => number;
  timers?: HealthTimers;
}

export type HealthListener = (snapshot: ProviderHealthSnapshot) => void;

export interface HealthMonitor {
  /** Give this to the router: it reports calls and circuit changes here. */
  readonly recorder: TrafficRecorder;
  /** Probes now, then every `intervalMs`. */
  start(): void;
  /** Stops the interval and aborts probes under way. */
  stop(): void;
  /** One probe round over every provider not marked unconfigured. */
  probeAll(): Promise<void>;
  snapshot(): ProviderHealthSnapshot[];
  get(name: string): ProviderHealthSnapshot | undefined;
  overall(): OverallStatus;
  /** For the router's `isAvailable`: an `auto` provider is available once it has answered. */
  isAvailable(name: string): boolean;
  /** Called with a provider's snapshot whenever its status or circuit changes; returns unsubscribe. */
  onChange(listener: HealthListener): () => void;
}

const realTimers: HealthTimers = {
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/**
 * Aggregates provider health from active probes and the router's traffic reports, and emits a
 * change whenever a provider's status or circuit state moves. Transport-free: the GraphQL layer
 * bridges `onChange` to its pub/sub.
 */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const now = options.now ?? Date.now;
  const timers = options.timers ?? realTimers;
  const intervalMs = options.intervalMs ?? 15_000;
  const probeLimit = timeout(options.probeTimeoutMs ?? 5_000, TimeoutStrategy.Aggressive);
  const trackerOptions = {
    windowMs: options.windowMs ?? 300_000,
    maxSamples: options.maxSamples ?? 1_000,
    thresholds: { ...defaultThresholds, ...options.thresholds },
    now,
  };
  const trackers = new Map<string, ProviderTracker>();
  for (const entry of createProviderRegistry(options.providers).entries) {
    trackers.set(entry.provider.name, createProviderTracker(entry, trackerOptions));
  }
  const listeners = new Set<HealthListener>();
  const emitted = new Map<string, string>();
  const stateKey = (s: Pick<ProviderHealthSnapshot, 'status' | 'circuit'>) => `${s.status}/${s.circuit}`;
  for (const [name, tracker] of trackers) emitted.set(name, stateKey(tracker.state()));
  let interval: unknown;
  let stopper = new AbortController();

  /** Re-evaluates one provider and tells listeners if its status or circuit moved. */
  const check = (tracker: ProviderTracker) => {
    const name = tracker.entry.provider.name;
    const key = stateKey(tracker.state());
    if (emitted.get(name) === key) return;
    emitted.set(name, key);
    const snapshot = tracker.snapshot();
    for (const listener of listeners) {
      try {
        listener(snapshot);
      } catch {
        // A failing listener must not stop health tracking or the other listeners.
      }
    }
  };

  const probing = new Set<string>();
  async function probe(tracker: ProviderTracker): Promise<void> {
    const { provider } = tracker.entry;
    if (probing.has(provider.name)) return; // the previous round is still waiting on it
    probing.add(provider.name);
    const startedAt = now();
    try {
      try {
        await probeLimit.execute(({ signal }) => provider.probe(signal), stopper.signal);
      } catch (error) {
        if (!stopper.signal.aborted) tracker.probeFailed(error instanceof Error ? error.message : String(error));
        return;
      }
      tracker.probeSucceeded(now() - startedAt);
      try {
        tracker.setModels(await probeLimit.execute(({ signal }) => provider.listModels(signal), stopper.signal));
      } catch {
        // The provider answered its probe; keep the last model list until listing works again.
      }
    } finally {
      probing.delete(provider.name);
      check(tracker);
    }
  }

  const recorder: TrafficRecorder = {
    callStarted(providerName, deploymentId) {
      const tracker = trackers.get(providerName);
      if (!tracker) return { firstToken() {}, succeeded() {}, failed() {}, abandoned() {} };
      const handle = tracker.callStarted(deploymentId);
      const after =
        <A extends unknown[]>(fn: (...args: A) => void) =>
        (...args: A) => {
          fn(...args);
          check(tracker);
        };
      return {
        firstToken: after(handle.firstToken),
        succeeded: after(handle.succeeded),
        failed: after(handle.failed),
        abandoned: after(handle.abandoned),
      };
    },
    circuitChanged(providerName, deploymentId, state) {
      const tracker = trackers.get(providerName);
      if (!tracker) return;
      tracker.circuitChanged(deploymentId, state);
      check(tracker);
    },
  };

  const probeAll = async () => {
    const live = [...trackers.values()].filter((t) => t.entry.configured !== false);
    await Promise.all(live.map(probe));
    for (const tracker of trackers.values()) check(tracker); // window figures age between probes
  };

  return {
    recorder,
    start() {
      if (interval !== undefined) return;
      stopper = new AbortController();
      void probeAll();
      interval = timers.setInterval(() => void probeAll(), intervalMs);
    },
    stop() {
      if (interval !== undefined) timers.clearInterval(interval);
      interval = undefined;
      stopper.abort();
    },
    probeAll,
    snapshot: () => [...trackers.values()].map((t) => t.snapshot()),
    get: (name) => trackers.get(name)?.snapshot(),
    overall: () => overallStatus([...trackers.values()].map((t) => t.snapshot().status)),
    isAvailable: (name) => {
      const tracker = trackers.get(name);
      if (!tracker) return false;
      const { configured } = tracker.entry;
      return configured === 'auto' ? tracker.everReached() : configured;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
