import type { StrategyName } from '../config-schema.js';
import { createLeastBusy } from './least-busy.js';
import { createLowestLatency } from './lowest-latency.js';
import { createRoundRobin } from './round-robin.js';
import type { Balancer, BalancerDeps } from './types.js';
import { createWeighted } from './weighted.js';

export type { Balancer, BalancerDeps } from './types.js';

/** One balancer per strategy, each keeping its own state (round-robin counters). */
export function createBalancers(deps: BalancerDeps): Record<StrategyName, Balancer> {
  return {
    'round-robin': createRoundRobin(),
    weighted: createWeighted(deps),
    'least-busy': createLeastBusy(deps),
    'lowest-latency': createLowestLatency(deps),
  };
}
