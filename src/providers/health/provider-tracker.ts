import { percentile } from '../../util/percentile.js';
import type { ProviderError } from '../provider-error.js';
import type { ProviderRegistration } from '../registry.js';
import type { CallHandle, CircuitStateName } from '../router/traffic-recorder.js';
import type { ModelInfo } from '../types.js';
import { createSlidingWindow } from './sliding-window.js';
import { aggregateCircuit, providerStatus } from './status-rules.js';
import type { HealthThresholds, ProviderHealthSnapshot } from './types.js';

export interface TrackerOptions {
  windowMs: number;
  maxSamples: number;
  thresholds: HealthThresholds;
  /** Wall-clock milliseconds. */
  now: () => number;
}

/** Everything known about one provider: probes, passive call figures, its deployments' circuits. */
export interface ProviderTracker {
  readonly entry: ProviderRegistration;
  callStarted(deploymentId: string): CallHandle;
  circuitChanged(deploymentId: string, state: CircuitStateName): void;
  probeSucceeded(latencyMs: number): void;
  probeFailed(error: string): void;
  setModels(models: ModelInfo[]): void;
  /** Reached at least once, by a probe or a call. */
  everReached(): boolean;
  /** Status and circuit only: what decides whether listeners hear of a change. */
  state(): Pick<ProviderHealthSnapshot, 'status' | 'circuit'>;
  snapshot(): ProviderHealthSnapshot;
}

/** Plain state plus the snapshot rules; the monitor decides when to probe and whom to tell. */
export function createProviderTracker(entry: ProviderRegistration, options: TrackerOptions): ProviderTracker {
  const { now, thresholds } = options;
  const outcomes = createSlidingWindow(options.windowMs, options.maxSamples); // 1 failed, 0 succeeded
  const ttfts = createSlidingWindow(options.windowMs, options.maxSamples, thresholds.maxTtftP95Ms);
  const circuits = new Map<string, CircuitStateName>();
  let inFlight = 0;
  let models: ModelInfo[] = [];
  let lastProbe: { ok: boolean; latencyMs: number | null; at: number } | undefined;
  // Event order, not clock time: a success and a failed probe can share a millisecond.
  let events = 0;
  let lastSuccessEvent = 0;
  let failedProbeEvent = 0;
  let lastActivityAt: number | undefined;
  let lastError: string | null = null;

  const succeeded = () => {
    lastSuccessEvent = ++events;
    lastActivityAt = now();
  };

  /** The window's figures and the status they give, from running tallies: cheap enough for every call. */
  const figures = (at: number) => {
    const results = outcomes.tally(at);
    const ttft = ttfts.tally(at);
    const errorRate = results.count === 0 ? 0 : results.sum / results.count;
    const circuit = aggregateCircuit([...circuits.values()]);
    const probeFailing = lastProbe?.ok === false && lastSuccessEvent < failedProbeEvent;
    const status = providerStatus(
      {
        configured: entry.configured,
        everReached: lastSuccessEvent > 0,
        circuit,
        probeFailing,
        errorRate,
        samples: results.count,
        ttftSamples: ttft.count,
        slowTtfts: ttft.above,
      },
      thresholds,
    );
    return { state: { status, circuit }, errorRate };
  };

  return {
    entry,
    callStarted(deploymentId) {
      if (!circuits.has(deploymentId)) circuits.set(deploymentId, 'CLOSED');
      inFlight++;
      let settled = false;
      const settle = (outcome?: number) => {
        if (settled) return;
        settled = true;
        inFlight--;
        if (outcome !== undefined) outcomes.add(outcome, now());
      };
      return {
        firstToken: (ttftMs) => {
          ttfts.add(ttftMs, now());
          succeeded();
        },
        succeeded: () => {
          settle(0);
          succeeded();
        },
        failed: (error: ProviderError) => {
          settle(1);
          lastError = error.message;
          lastActivityAt = now();
        },
        abandoned: () => settle(),
      };
    },
    circuitChanged(deploymentId, state) {
      circuits.set(deploymentId, state);
    },
    probeSucceeded(latencyMs) {
      lastProbe = { ok: true, latencyMs, at: now() };
      lastSuccessEvent = ++events;
    },
    probeFailed(error) {
      lastProbe = { ok: false, latencyMs: null, at: now() };
      failedProbeEvent = ++events;
      lastError = error;
    },
    setModels(list) {
      models = list;
    },
    everReached: () => lastSuccessEvent > 0,
    state() {
      return figures(now()).state;
    },
    snapshot() {
      const at = now();
      const { state, errorRate } = figures(at);
      const ttftValues = ttfts.values(at).sort((a, b) => a - b);
      const checkedAt = Math.max(lastProbe?.at ?? -1, lastActivityAt ?? -1);
      return {
        name: entry.provider.name,
        kind: entry.provider.kind,
        configured: entry.configured,
        ...state,
        latencyMs: lastProbe?.ok ? lastProbe.latencyMs : null,
        ttftP50Ms: percentile(ttftValues, 50) ?? null,
        ttftP95Ms: percentile(ttftValues, 95) ?? null,
        errorRate,
        inFlight,
        lastCheckedAt: checkedAt < 0 ? null : new Date(checkedAt),
        lastError,
        models: models.map((m) => ({ ...m })),
        deployments: [...circuits].map(([id, state]) => ({ id, circuit: state })),
      };
    },
  };
}
