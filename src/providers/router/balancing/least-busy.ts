import { shuffle } from './shuffle.js';
import type { Balancer, BalancerDeps } from './types.js';

/** Fewest calls in flight first; ties broken at random so equal loads spread evenly. */
export function createLeastBusy({ random, stats }: BalancerDeps): Balancer {
  return {
    order(deployments) {
      return shuffle(deployments, random).sort((a, b) => stats.get(a.id).inFlight - stats.get(b.id).inFlight);
    },
  };
}
