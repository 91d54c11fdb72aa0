// Cold start of the compiled server on the embedded default: the time from spawning
// `node dist/main.js` to the first 200 from /health/ready, with a fresh DATA_DIR (the database is
// created and migrated) and with an existing one, median of repeated runs. Beside it, where the time
// goes: node's own start, importing the server's modules, and the child's CPU time at ready (a
// loaded machine stretches wall time; CPU time much less). `BENCH_ONLY=cold-start npm run bench`.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.js';

const root = join(import.meta.dirname, '..');
export const READY_TARGET_MS = 2000;

export interface ColdStartSettings {
  runs: number;
  /** The node binary to measure (e.g. Node 24's), default this one. */
  node: string;
  /** The built directory to start, relative to the project (a copy of an older build to compare), default dist. */
  dist: string;
}

export function coldStartSettingsFromEnv(env = process.env): ColdStartSettings {
  return {
    runs: Number(env.COLD_START_RUNS ?? 5),
    node: env.COLD_START_NODE ?? process.execPath,
    dist: env.COLD_START_DIST ?? 'dist',
  };
}

interface Run {
  /** Spawn to the first answer on /health/live: modules loaded, PGlite open, HTTP listening. */
  liveMs: number;
  /** Spawn to the first 200 from /health/ready: migrations applied, default user in place. */
  readyMs: number;
  /** The server's user + system CPU time when it became ready. */
  cpuMs: number;
}

export interface ColdStartResult {
  node: string;
  runs: number;
  targetMs: number;
  loadAverage: { start: number[]; end: number[] };
  dist: string;
  /**
   * Spawn to exit of `node -e 0`, and of a node that only imports dist/server.js (median ms; null
   * for a bundled build, which has no such file: its modules load within the runs below).
   */
  phases: { nodeMs: number; importServerMs: number | null; importServerCpuMs: number | null };
  scenarios: Record<'existing' | 'fresh', { median: Run; min: Run; max: Run; samples: Run[]; met: boolean }>;
}

export async function benchColdStart(
  settings: ColdStartSettings,
  log: (line: string) => void = () => {},
): Promise<ColdStartResult> {
  if (settings.dist === 'dist') {
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const serverModule = join(root, settings.dist, 'server.js');
  const unbundled = existsSync(serverModule);
  const node = execFileSync(settings.node, ['--version'], { encoding: 'utf8' }).trim();
  const start = loadavg();
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cold-'));
    dirs.push(dir);
    return dir;
  };
  try {
    const nodeMs: number[] = [];
    const importMs: number[] = [];
    const importCpu: number[] = [];
    for (let i = 0; i < settings.runs; i++) {
      nodeMs.push((await timeExit(settings.node, ['-e', '0'])).ms);
      if (!unbundled) continue;
      const imported = await timeExit(settings.node, [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(serverModule)})`,
      ]);
      importMs.push(imported.ms);
      importCpu.push(imported.cpuMs);
    }
    log(`node ${median(nodeMs).toFixed(0)} ms, import server.js ${unbundled ? median(importMs).toFixed(0) : '-'} ms`);

    const existingDir = tempDir();
    await startOnce(settings.node, settings.dist, existingDir); // creates and migrates it: not counted
    const scenarios = {} as ColdStartResult['scenarios'];
    for (const [name, dataDir] of [
      ['existing', () => existingDir],
      ['fresh', tempDir],
    ] as const) {
      const samples: Run[] = [];
      for (let i = 0; i < settings.runs; i++) {
        const run = await startOnce(settings.node, settings.dist, dataDir());
        log(
          `${name} #${i + 1}: live ${run.liveMs.toFixed(0)} ms, ready ${run.readyMs.toFixed(0)} ms, cpu ${run.cpuMs} ms`,
        );
        samples.push(run);
      }
      const pick = (f: (values: number[]) => number): Run => ({
        liveMs: f(samples.map((s) => s.liveMs)),
        readyMs: f(samples.map((s) => s.readyMs)),
        cpuMs: f(samples.map((s) => s.cpuMs)),
      });
      const mid = pick(median);
      scenarios[name] = {
        median: mid,
        min: pick((v) => Math.min(...v)),
        max: pick((v) => Math.max(...v)),
        samples,
        met: mid.readyMs <= READY_TARGET_MS,
      };
    }
    return {
      node,
      dist: settings.dist,
      runs: settings.runs,
      targetMs: READY_TARGET_MS,
      loadAverage: { start, end: loadavg() },
      phases: {
        nodeMs: median(nodeMs),
        importServerMs: unbundled ? median(importMs) : null,
        importServerCpuMs: unbundled ? median(importCpu) : null,
      },
      scenarios,
    };
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

export function printColdStart(result: ColdStartResult): void {
  const ms = (n: number) => `${n.toFixed(0)}`.padStart(7);
  console.log(
    `cold start, node ${result.node}, median of ${result.runs} (load average ${result.loadAverage.start[0]})`,
  );
  const imported = result.phases.importServerMs;
  console.log(
    `node -e 0 ${ms(result.phases.nodeMs)} ms; import server.js ${imported === null ? '(bundled)' : ms(imported)} ms`,
  );
  console.log('DATA_DIR    live ms  ready ms    cpu ms  target');
  for (const [name, s] of Object.entries(result.scenarios)) {
    const target = `${s.met ? 'met' : 'MISSED'} (<= ${result.targetMs} ms)`;
    console.log(
      `${name.padEnd(9)} ${ms(s.median.liveMs)}   ${ms(s.median.readyMs)}   ${ms(s.median.cpuMs)}  ${target}`,
    );
  }
}

/** One start of `node <dist>/main.js` on `dataDir`, timed to live and to ready, then stopped. */
async function startOnce(node: string, dist: string, dataDir: string): Promise<Run> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(node, [join(dist, 'main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    let liveMs = Number.NaN;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
      if (Number.isNaN(liveMs) && (await status(`${base}/health/live`)) === 200) liveMs = performance.now() - started;
      if (!Number.isNaN(liveMs) && (await status(`${base}/health/ready`)) === 200) {
        return { liveMs, readyMs: performance.now() - started, cpuMs: cpuMsOf(child.pid as number) };
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await stop(child);
  }
}

async function timeExit(node: string, args: string[]): Promise<{ ms: number; cpuMs: number }> {
  const started = performance.now();
  const child = spawn(node, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
  const ms = performance.now() - started;
  return { ms, cpuMs: childrenCpuMs() };
}

const status = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(5000) }).then(
    async (r) => {
      await r.arrayBuffer();
      return r.status;
    },
    () => 0,
  );

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** User + system CPU time of a running process (Linux /proc). */
function cpuMsOf(pid: number): number {
  const fields = statFields(`/proc/${pid}/stat`);
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

let reaped = 0;
/** CPU time of this process' children that exited since the last call (cutime + cstime of /proc/self). */
function childrenCpuMs(): number {
  const fields = statFields('/proc/self/stat');
  const total = (Number(fields[13]) + Number(fields[14])) * TICK_MS;
  const delta = total - reaped;
  reaped = total;
  return delta;
}

/** The fields after the command name, from field 3 (state) on. */
function statFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
