import type { DeploymentStatsStore } from '../deployment-stats.js';
import type { Deployment } from '../types.js';

export interface BalancerDeps {
  /** Uniform in [0, 1); injected so tests can seed it. */
  random: () => number;
  stats: DeploymentStatsStore;
}

/**
 * Orders one group's deployments for a request: the first is tried first, the rest are the
 * in-group fallbacks. Never mutates its input.
 */
export interface Balancer {
  order(deployments: readonly Deployment[], groupKey: string): Deployment[];
}
