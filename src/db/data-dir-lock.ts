import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, MEMORY_DATA_DIR } from '../config.js';

/** Held while a process has an embedded data directory open; `release` is idempotent. */
export interface DataDirLock {
  /** The lock file, or undefined for `memory://`. */
  path: string | undefined;
  release(): void;
}

export const LOCK_FILE = 'switchyard.pid';

/** Who holds a lock: the pid, and the process' start time so that a reused pid is not mistaken for it. */
interface Holder {
  pid: number;
  started: string | undefined;
}

/**
 * Takes the embedded data directory for this process before PGlite opens it: two PGlite instances
 * on one directory each keep their own view and overwrite each other's writes.
 *
 * The lock is a file created exclusively (O_EXCL) in the directory, holding the pid, as Postgres'
 * own postmaster.pid. A file whose process is gone (crash, kill -9, a container restarted with the
 * same pid) is stale and taken over. A live holder is a ConfigError naming the directory and the pid,
 * which `main` prints as its one line.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  if (dataDir === MEMORY_DATA_DIR) return { path: undefined, release() {} };
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me: Holder = { pid: process.pid, started: startTimeOf(process.pid) };
  const record = `${me.pid}\n${me.started ?? ''}\n`;
  // A few rounds: each one either creates the file, meets a live holder, or removes a stale file.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, record);
      } finally {
        closeSync(fd);
      }
      return heldLock(path, record);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    if (holder && isAlive(holder)) throw inUse(dataDir, holder.pid, path);
    // Gone already (its holder just released it), or stale: remove it unless it changed meanwhile.
    if (holder) removeIf(path, (text) => text === holder.text);
  }
  throw new Error(`could not take the lock ${path}: it keeps changing`);
}

const inUse = (dataDir: string, pid: number, path: string) =>
  new ConfigError(
    'DATA_DIR',
    dataDir,
    `a data directory no other process is using, but process ${pid} has it open (lock file ${path}); stop that process or set DATA_DIR to another directory`,
  );

function heldLock(path: string, record: string): DataDirLock {
  let held = true;
  // An exit without close (process.exit on a fatal error) still frees the directory.
  const onExit = () => release();
  process.once('exit', onExit);
  function release() {
    if (!held) return;
    held = false;
    process.off('exit', onExit);
    removeIf(path, (text) => text === record);
  }
  return { path, release };
}

function readHolder(path: string): (Holder & { text: string }) | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const [pidLine, started] = text.split('\n');
  const pid = Number(pidLine);
  // An empty or torn file (a holder killed while writing it) cannot name a live process.
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, started: undefined, text };
  return { pid, started: started || undefined, text };
}

function isAlive(holder: Holder): boolean {
  // Our own pid in the file is a previous life of this pid (a restarted container), never us.
  if (holder.pid <= 0 || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Alive, but maybe another process that was given the same pid.
  const started = startTimeOf(holder.pid);
  return holder.started === undefined || started === undefined || started === holder.started;
}

/** The process' start time in clock ticks since boot (Linux /proc), or undefined elsewhere. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces and parentheses, so count from its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Removes the file only while it still says what `expected` accepts (not a lock someone just took). */
function removeIf(path: string, expected: (text: string) => boolean): void {
  try {
    if (expected(readFileSync(path, 'utf8'))) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
