import type { ProviderError } from '../provider-error.js';
import type { DeploymentStatsStore } from './deployment-stats.js';
import type { CallHandle, TrafficRecorder } from './traffic-recorder.js';
import type { Deployment } from './types.js';

/** One upstream call, reported to the balancing figures and the traffic recorder; settles once. */
export interface TrackedCall extends Omit<CallHandle, 'firstToken'> {
  /** Marks the first token and returns the call's time to it. */
  firstToken(): number;
}

export function trackCall(
  deployment: Deployment,
  stats: DeploymentStatsStore,
  recorder: TrafficRecorder,
  now: () => number,
): TrackedCall {
  const startedAt = now();
  const handle = recorder.callStarted(deployment.provider.name, deployment.id);
  stats.begin(deployment.id);
  let settled = false;
  const settle = (report: () => void) => {
    if (settled) return;
    settled = true;
    stats.end(deployment.id);
    report();
  };
  return {
    firstToken() {
      const ttftMs = now() - startedAt;
      stats.recordTtft(deployment.id, ttftMs);
      handle.firstToken(ttftMs);
      return ttftMs;
    },
    succeeded: () => settle(() => handle.succeeded()),
    failed: (error: ProviderError) => settle(() => handle.failed(error)),
    abandoned: () => settle(() => handle.abandoned()),
  };
}
