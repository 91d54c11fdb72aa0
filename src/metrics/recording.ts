import type { CallHandle, TrafficRecorder } from '../providers/router/traffic-recorder.js';
import type { Metrics } from './metrics.js';

/** Reports the router's traffic to two recorders (the health monitor and the metrics). */
export function teeRecorder(first: TrafficRecorder, second: TrafficRecorder): TrafficRecorder {
  return {
    callStarted(provider, deploymentId, operation): CallHandle {
      const a = first.callStarted(provider, deploymentId, operation);
      const b = second.callStarted(provider, deploymentId, operation);
      return {
        firstToken(ttftMs) {
          a.firstToken(ttftMs);
          b.firstToken(ttftMs);
        },
        succeeded() {
          a.succeeded();
          b.succeeded();
        },
        failed(error) {
          a.failed(error);
          b.failed(error);
        },
        abandoned() {
          a.abandoned();
          b.abandoned();
        },
      };
    },
    circuitChanged(provider, deploymentId, state) {
      first.circuitChanged(provider, deploymentId, state);
      second.circuitChanged(provider, deploymentId, state);
    },
    retried(provider, deploymentId, operation) {
      first.retried?.(provider, deploymentId, operation);
      second.retried?.(provider, deploymentId, operation);
    },
    fellBack(provider, deploymentId, operation) {
      first.fellBack?.(provider, deploymentId, operation);
      second.fellBack?.(provider, deploymentId, operation);
    },
  };
}

interface Admits {
  admit(...args: never[]): Promise<unknown>;
}

/**
 * Counts the refusals of a usage policy's `admit` (RATE_LIMITED, BUDGET_EXCEEDED errors carrying
 * `details.limit`), leaving the policy otherwise as it is.
 */
export function countRefusals<T extends Admits>(policy: T, metrics: Metrics): T {
  const admit = policy.admit.bind(policy) as (...args: unknown[]) => Promise<unknown>;
  return {
    ...policy,
    admit: (...args: unknown[]) =>
      admit(...args).catch((error: unknown) => {
        const { code, details } = (error ?? {}) as { code?: unknown; details?: { limit?: unknown } };
        if ((code === 'RATE_LIMITED' || code === 'BUDGET_EXCEEDED') && typeof details?.limit === 'string') {
          metrics.refused(code, details.limit);
        }
        throw error;
      }),
  };
}
