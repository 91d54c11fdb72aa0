import type { Deployment } from '../types.js';
import type { Balancer, BalancerDeps } from './types.js';

/** Random by weight, without replacement: the first pick follows the weights, then the rest. */
export function createWeighted({ random }: Pick<BalancerDeps, 'random'>): Balancer {
  return {
    order(deployments) {
      const pool: Deployment[] = [...deployments];
      const out: Deployment[] = [];
      while (pool.length > 0) {
        const total = pool.reduce((sum, d) => sum + d.weight, 0);
        let target = random() * total;
        let index = pool.findIndex((d) => {
          target -= d.weight;
          return target < 0;
        });
        if (index < 0) index = pool.length - 1; // float rounding at the top end
        out.push(...pool.splice(index, 1));
      }
      return out;
    },
  };
}
