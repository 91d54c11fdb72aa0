import type { StrategyName } from '../../config/router-schema.js';
import type { Deployment } from './types.js';

/** Live figures per deployment that the balancing strategies read. */
export interface DeploymentStats {
  inFlight: number;
  /** Exponentially weighted moving average of time to first token; undefined until measured. */
  ttftEwmaMs: number | undefined;
}

export interface DeploymentStatsStore {
  get(deploymentId: string): Readonly<DeploymentStats>;
  begin(deploymentId: string): void;
  end(deploymentId: string): void;
  recordTtft(deploymentId: string, ttftMs: number): void;
}

/** `alpha` weighs the newest sample; 0.3 follows a change within a handful of calls. */
export function createDeploymentStats(alpha = 0.3): DeploymentStatsStore {
  const stats = new Map<string, DeploymentStats>();
  const entry = (id: string) => {
    let found = stats.get(id);
    if (!found) {
      found = { inFlight: 0, ttftEwmaMs: undefined };
      stats.set(id, found);
    }
    return found;
  };
  return {
    get: entry,
    begin: (id) => {
      entry(id).inFlight++;
    },
    end: (id) => {
      const e = entry(id);
      e.inFlight = Math.max(0, e.inFlight - 1);
    },
    recordTtft: (id, ttftMs) => {
      const e = entry(id);
      e.ttftEwmaMs = e.ttftEwmaMs === undefined ? ttftMs : alpha * ttftMs + (1 - alpha) * e.ttftEwmaMs;
    },
  };
}

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

/** One balancer per strategy, each keeping its own state (round-robin counters). */
export function createBalancers(deps: BalancerDeps): Record<StrategyName, Balancer> {
  return {
    'round-robin': roundRobin(),
    weighted: weighted(deps.random),
    'least-busy': leastBusy(deps),
    'lowest-latency': lowestLatency(deps),
  };
}

/** Rotates the starting deployment per group, request by request. */
function roundRobin(): Balancer {
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

/** Random by weight, without replacement: the first pick follows the weights, then the rest. */
function weighted(random: () => number): Balancer {
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

/** Fewest calls in flight first; ties broken at random so equal loads spread evenly. */
function leastBusy({ random, stats }: BalancerDeps): Balancer {
  return {
    order(deployments) {
      return shuffle(deployments, random).sort((a, b) => stats.get(a.id).inFlight - stats.get(b.id).inFlight);
    },
  };
}

/**
 * Lowest moving average of time to first token first. Unmeasured deployments go first, so each
 * gets measured; ties are broken at random.
 */
function lowestLatency({ random, stats }: BalancerDeps): Balancer {
  const latency = (id: string) => stats.get(id).ttftEwmaMs ?? -1;
  return {
    order(deployments) {
      return shuffle(deployments, random).sort((a, b) => latency(a.id) - latency(b.id));
    },
  };
}

/** Fisher-Yates on a copy, so ties among equally good deployments spread evenly. */
function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
