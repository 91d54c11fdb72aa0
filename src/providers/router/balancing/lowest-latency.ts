import { shuffle } from './shuffle.js';
import type { Balancer, BalancerDeps } from './types.js';

/**
 * Lowest moving average of time to first token first. Unmeasured deployments go first, so each
 * gets measured; ties are broken at random.
 */
export function createLowestLatency({ random, stats }: BalancerDeps): Balancer {
  const latency = (id: string) => stats.get(id).ttftEwmaMs ?? -1;
  return {
    order(deployments) {
      return shuffle(deployments, random).sort((a, b) => latency(a.id) - latency(b.id));
    },
  };
}
