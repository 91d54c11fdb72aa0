import { type CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { ProviderError } from '../provider-error.js';
import { isDeploymentFault } from './classify-error.js';
import type { ResilienceConfig } from './config-schema.js';
import type { CircuitStateName, TrafficRecorder } from './traffic-recorder.js';
import type { Deployment } from './types.js';

export interface CircuitBreakers {
  /** The deployment's breaker, created on first use and shared by every request after. */
  get(deployment: Deployment): CircuitBreakerPolicy;
  state(deploymentId: string): CircuitStateName;
}

/** Cockatiel's states in the API's names. */
export function circuitStateName(state: CircuitState): CircuitStateName {
  if (state === CircuitState.Closed) return 'CLOSED';
  if (state === CircuitState.HalfOpen) return 'HALF_OPEN';
  return 'OPEN'; // Open and Isolated both refuse calls
}

/**
 * One ConsecutiveBreaker per deployment. It counts failures that say the deployment is unwell
 * (not cancellations or rejected requests) up to the first token, the unit it guards.
 */
export function createCircuitBreakers(config: ResilienceConfig['breaker'], recorder: TrafficRecorder): CircuitBreakers {
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const counts = handleWhen((error) => ProviderError.isInstance(error) && isDeploymentFault(error));
  return {
    get(deployment) {
      let breaker = breakers.get(deployment.id);
      if (!breaker) {
        breaker = circuitBreaker(counts, {
          halfOpenAfter: config.halfOpenAfterMs,
          breaker: new ConsecutiveBreaker(config.failureThreshold),
        });
        breaker.onStateChange((state) =>
          recorder.circuitChanged(deployment.provider.name, deployment.id, circuitStateName(state)),
        );
        breakers.set(deployment.id, breaker);
      }
      return breaker;
    },
    state(deploymentId) {
      const breaker = breakers.get(deploymentId);
      return breaker ? circuitStateName(breaker.state) : 'CLOSED';
    },
  };
}
