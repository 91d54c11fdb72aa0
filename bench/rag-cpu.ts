import type pg from 'pg';
import { machineBusyMs, processCpuMs } from './peers/cpu.js';

/** Cores busy over an interval: this process, the Postgres backends of the benchmark's database, everything else. */
export interface CpuSplit {
  wallMs: number;
  node: number;
  postgres: number;
  /** Other processes on the machine (other work, Postgres' shared background processes). */
  other: number;
  /** CPU ms of this process and of the database's backends, to divide by work done. */
  nodeMs: number;
  postgresMs: number;
}

async function backendCpu(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid)]));
}

/**
 * Starts measuring; the returned function ends the interval. Backends are found through
 * pg_stat_activity at both ends: one that both starts and exits inside the interval is missed.
 */
export async function cpuSplitMeter(pool: pg.Pool): Promise<() => Promise<CpuSplit>> {
  const backends = await backendCpu(pool);
  const node0 = processCpuMs(process.pid);
  const machine0 = machineBusyMs();
  const t0 = performance.now();
  return async () => {
    const wallMs = performance.now() - t0;
    const nodeMs = processCpuMs(process.pid) - node0;
    const machineMs = machineBusyMs() - machine0;
    let postgresMs = 0;
    for (const [pid, cpu] of await backendCpu(pool)) {
      const start = backends.get(pid) ?? 0;
      if (Number.isFinite(cpu) && Number.isFinite(start)) postgresMs += cpu - start;
    }
    return {
      wallMs,
      node: nodeMs / wallMs,
      postgres: postgresMs / wallMs,
      other: (machineMs - nodeMs - postgresMs) / wallMs,
      nodeMs,
      postgresMs,
    };
  };
}
