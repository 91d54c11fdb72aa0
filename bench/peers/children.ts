import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '../..');
const probe = join(import.meta.dirname, 'probe.mjs');
const live = new Set<ChildProcess>();

const interruptHooks = new Set<() => Promise<void>>();

/** Runs `hook` (bounded to 5 s) if the benchmark is interrupted; returns a function that unregisters it. */
export function onInterrupt(hook: () => Promise<void>): () => void {
  interruptHooks.add(hook);
  return () => interruptHooks.delete(hook);
}

// Children also exit on their own when the IPC channel closes (see probe.mjs); this covers the rest.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGKILL');
    const hooks = Promise.allSettled([...interruptHooks].map((hook) => hook()));
    const bound = new Promise((resolve) => setTimeout(resolve, 5_000).unref());
    Promise.race([hooks, bound]).finally(() => process.exit(130));
  });
}

export interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface Child {
  readonly pid: number;
  /** The first IPC message of type `ready`, or the first stdout line matching `ready`. */
  ready: Promise<string>;
  /** Sends a command and resolves with the child's answer of the same id. */
  request<T = unknown>(message: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** The child's own process.memoryUsage(), after a full GC. */
  memory(): Promise<Memory>;
  stderr(): string;
  /** Distinct stderr lines (JSON logs: `message: error.message`) since the last call, with counts. */
  takeLog(): Record<string, number>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  /** Script to run, relative to the repository root. */
  script: string;
  args?: string[];
  env: Record<string, string>;
  /** Load tsx (for .ts scripts). */
  tsx?: boolean;
  /** Extra Node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Stdout pattern whose first capture group is the ready value; default: an IPC `ready` message. */
  readyPattern?: RegExp;
  readyTimeoutMs?: number;
}

/** Forks a Node child with the probe preloaded, stdout/stderr captured and an IPC channel. */
export function startChild(options: ChildOptions): Child {
  const execArgv = [
    '--expose-gc',
    ...(options.nodeFlags ?? []),
    ...(options.tsx ? ['--import', 'tsx'] : []),
    '--import',
    probe,
  ];
  const child = fork(join(root, options.script), options.args ?? [], {
    cwd: root,
    execArgv,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => live.delete(child));
  let out = '';
  let err = '';
  let partial = '';
  let log: Record<string, number> = {};
  child.stderr?.on('data', (chunk) => {
    err = (err + chunk).slice(-20_000);
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const key = logKey(line);
      if (key && (key in log || Object.keys(log).length < 20)) log[key] = (log[key] ?? 0) + 1;
    }
  });
  let nextId = 1;
  const pending = new Map<number, (value: unknown) => void>();
  child.on('message', (message: { type?: string; id?: number; url?: string }) => {
    const resolve = message.id === undefined ? undefined : pending.get(message.id);
    resolve?.(message);
  });
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.script} not ready: ${err}`)),
      options.readyTimeoutMs ?? 30_000,
    );
    const done = (value: string) => {
      clearTimeout(timer);
      resolve(value);
    };
    if (options.readyPattern) {
      const pattern = options.readyPattern;
      child.stdout?.on('data', (chunk) => {
        out = (out + chunk).slice(-20_000);
        const match = pattern.exec(out);
        if (match?.[1]) done(match[1]);
      });
    } else {
      child.stdout?.resume();
      child.on('message', (message: { type?: string; url?: string }) => {
        if (message.type === 'ready') done(String(message.url));
      });
    }
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.script} exited (${code ?? signal}): ${err}`));
    });
  });
  ready.catch(() => {});

  const request = <T>(message: Record<string, unknown>, timeoutMs = 15_000) =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${options.script} is gone`));
      const id = nextId++;
      const settle = (error: Error | undefined, value?: unknown) => {
        clearTimeout(timer);
        pending.delete(id);
        if (error) reject(error);
        else resolve(value as T);
      };
      const timer = setTimeout(
        () => settle(new Error(`${options.script}: no answer to ${String(message.type)}`)),
        timeoutMs,
      );
      pending.set(id, (value) => settle(undefined, value));
      child.send({ ...message, id }, (error) => {
        if (error) settle(error);
      });
    });

  return {
    pid: child.pid ?? -1,
    ready,
    request,
    memory: async () => (await request<{ usage: Memory }>({ type: 'memory' })).usage,
    stderr: () => err,
    takeLog() {
      const taken = log;
      log = {};
      return taken;
    },
    async stop(graceMs = 3_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function logKey(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  try {
    const entry = JSON.parse(line) as { level?: string; message?: string; error?: { message?: string } };
    return `${entry.level ?? ''} ${entry.message ?? ''}${entry.error?.message ? `: ${entry.error.message}` : ''}`.slice(
      0,
      200,
    );
  } catch {
    return line.slice(0, 200);
  }
}
