import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc times; 100 on every Linux this runs on. */
const TICK_MS = 10;

/** CPU time (user + system) a process has used so far, in ms; NaN when it cannot be read. */
export function processCpuMs(pid: number): number {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1_000;
  }
  try {
    // Fields after the `(comm)`, which may itself contain spaces: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU time of the whole machine so far (all cores), in ms. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

export interface CpuSample {
  /** CPU ms used during the interval, per named process and by the whole machine. */
  byProcess: Record<string, number>;
  machine: number;
}

/** Starts measuring; call the result to get what each process used since. */
export function cpuMeter(pids: Record<string, number>): () => CpuSample {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)]));
  const machineStart = machineBusyMs();
  return () => ({
    byProcess: Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid) - (start[name] ?? Number.NaN)]),
    ),
    machine: machineBusyMs() - machineStart,
  });
}

/** CPU ms used so far by each running process whose command is one of `names` (by pid). */
export function namedProcessesCpuMs(names: readonly string[]): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (names.includes(comm)) cpu.set(Number(entry), processCpuMs(Number(entry)));
    } catch {
      // gone meanwhile
    }
  }
  return cpu;
}

/** CPU ms the processes named `names` used between two readings; one that started meanwhile counts whole. */
export function namedProcessesCpuSince(names: readonly string[], before: Map<number, number>): number {
  let used = 0;
  for (const [pid, now] of namedProcessesCpuMs(names)) {
    const then = before.get(pid) ?? 0;
    if (Number.isFinite(now) && Number.isFinite(then)) used += now - then;
  }
  return used;
}
