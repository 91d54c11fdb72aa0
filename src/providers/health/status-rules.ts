import { percentileAbove } from '../../util/percentile.js';
import type { ProviderConfigured } from '../registry.js';
import type { CircuitStateName } from '../router/traffic-recorder.js';
import type { HealthThresholds, OverallStatus, ProviderStatus } from './types.js';

export interface StatusInputs {
  configured: ProviderConfigured;
  /** A probe or a call has succeeded at least once. */
  everReached: boolean;
  circuit: CircuitStateName;
  /** The last probe failed and no call has succeeded since. */
  probeFailing: boolean;
  errorRate: number;
  /** Calls with an outcome in the window. */
  samples: number;
  /** Times to first token in the window, and how many of them exceed `maxTtftP95Ms`. */
  ttftSamples: number;
  slowTtfts: number;
}

/** The status rules, in order; see README.md beside this file. */
export function providerStatus(input: StatusInputs, t: HealthThresholds): ProviderStatus {
  if (input.configured === false) return 'UNCONFIGURED';
  if (input.configured === 'auto' && !input.everReached) return 'UNCONFIGURED';
  if (input.circuit === 'OPEN' || input.probeFailing) return 'DOWN';
  if (input.circuit === 'HALF_OPEN') return 'DEGRADED';
  if (input.samples >= t.minSamples && input.errorRate > t.maxErrorRate) return 'DEGRADED';
  if (input.ttftSamples >= t.minSamples && percentileAbove(input.ttftSamples, input.slowTtfts, 95)) return 'DEGRADED';
  return 'UP';
}

/** OPEN when every deployment is open, HALF_OPEN when some are open or testing, else CLOSED. */
export function aggregateCircuit(states: readonly CircuitStateName[]): CircuitStateName {
  if (states.length > 0 && states.every((s) => s === 'OPEN')) return 'OPEN';
  return states.some((s) => s !== 'CLOSED') ? 'HALF_OPEN' : 'CLOSED';
}

/** ok: every configured provider UP; down: none UP or DEGRADED; degraded otherwise. */
export function overallStatus(statuses: readonly ProviderStatus[]): OverallStatus {
  const live = statuses.filter((s) => s !== 'UNCONFIGURED');
  if (live.length === 0 || live.every((s) => s === 'DOWN')) return 'down';
  return live.every((s) => s === 'UP') ? 'ok' : 'degraded';
}
