import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { stopWhenDone } from './cleanup.js';

const root = join(import.meta.dirname, '../..');

export interface ServerProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Resolves with the URL the server printed once it listens. */
  url: Promise<string>;
}

/**
 * Runs the server in a child process with exactly this environment: the run's build with plain node
 * (as `npm start` runs dist/main.js; see built-server.ts), or `command` (e.g. `['npm', 'start']`)
 * from the repository root.
 */
export function spawnServer(
  env: Record<string, string>,
  command: string[] = [process.execPath, join(inject('builtServer'), 'main.js')],
): ServerProcess {
  const [file = process.execPath, ...args] = command;
  const child = spawn(file, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk) => {
    err += chunk;
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const match = /running at (\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', () =>
      reject(new Error(`server exited (${child.exitCode ?? child.signalCode}) before listening: ${err}${out}`)),
    );
  });
  url.catch(() => {});
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  // A test that times out, or a worker that exits, must not leave the process running.
  const running = () => child.exitCode === null && child.signalCode === null;
  const killNow = () => {
    if (running()) child.kill('SIGKILL');
  };
  process.once('exit', killNow);
  exited.then(() => process.off('exit', killNow));
  stopWhenDone(async () => {
    if (!running()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(killNow, STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  });
  return { child, stdout: () => out, stderr: () => err, exited, url };
}

/** How long a leftover server gets to shut down cleanly before it is killed. */
const STOP_GRACE_MS = 10_000;
