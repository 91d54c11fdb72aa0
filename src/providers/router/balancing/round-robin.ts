import type { Balancer } from './types.js';

/** Rotates the starting deployment per group, request by request. */
export function createRoundRobin(): Balancer {
  const next = new Map<string, number>();
  return {
    order(deployments, groupKey) {
      const n = deployments.length;
      if (n <= 1) return [...deployments];
      const start = (next.get(groupKey) ?? 0) % n;
      next.set(groupKey, start + 1);
      return [...deployments.slice(start), ...deployments.slice(0, start)];
    },
  };
}
