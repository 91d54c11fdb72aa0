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
