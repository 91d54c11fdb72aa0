import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { WorkerFile } from '../util/worker-file.js';

/** A task ran past its time: its worker thread was terminated. */
export class WorkerTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the work took longer than ${timeoutMs} ms and was stopped`);
    this.name = 'WorkerTimeout';
  }
}

/** The caller's signal aborted the task (waiting or running: a running one's thread was terminated). */
export class WorkerCancelled extends Error {
  constructor(reason?: unknown) {
    super('the work was cancelled', { cause: reason });
    this.name = 'WorkerCancelled';
  }
}

/** Every thread is busy and the waiting line is full. */
export class PoolBusy extends Error {
  constructor(name: string) {
    super(`the ${name} workers are all busy`);
    this.name = 'PoolBusy';
  }
}

export interface WorkerPoolOptions {
  name: string;
  file: WorkerFile;
  threads: number;
  /** Run-time bound of a task, counted from when it gets a thread; the thread is terminated at it. */
  timeoutMs: number;
  /** Tasks that may wait for a thread; more are refused with PoolBusy. Default: no bound. */
  maxWaiting?: number;
  /** Heap bounds per thread: a task that would grow past them kills its own thread, not the process. */
  resourceLimits?: ResourceLimits;
  /** An idle thread exits after this long. Default 30 s. */
  idleTimeoutMs?: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Buffers moved to the worker rather than copied (the sender loses them). */
  transferList?: ArrayBuffer[];
}

export interface PoolStats {
  running: number;
  waiting: number;
  threads: number;
  completed: number;
  cancelled: number;
  timedOut: number;
  failed: number;
}

export interface WorkerPool<T, R> {
  run(task: T, options?: RunOptions): Promise<R>;
  stats(): PoolStats;
  /** Refuses new tasks, fails waiting ones and terminates the threads. */
  close(): Promise<void>;
}

/**
 * A small pool of worker threads (piscina) for CPU work the event loop must not wait on. This
 * layer keeps its own line of waiting tasks and hands piscina a task only when a thread is free,
 * so a task's time bound counts its run, not its wait; piscina terminates the thread of a task
 * whose signal aborts (time or caller) and starts a fresh one for the next.
 */
export function createWorkerPool<T, R>(options: WorkerPoolOptions): WorkerPool<T, R> {
  const piscina = new Piscina<T, R>({
    filename: options.file.filename.href,
    execArgv: options.file.execArgv,
    minThreads: 0,
    maxThreads: options.threads,
    idleTimeout: options.idleTimeoutMs ?? 30_000,
    resourceLimits: options.resourceLimits,
  });
  const waiting: { go(): void; fail(error: Error): void }[] = [];
  const counts = { completed: 0, cancelled: 0, timedOut: 0, failed: 0 };
  let running = 0;
  let closed = false;

  const acquire = (signal: AbortSignal | undefined) => {
    if (running < options.threads) {
      running++;
      return Promise.resolve();
    }
    if (waiting.length >= (options.maxWaiting ?? Number.POSITIVE_INFINITY))
      return Promise.reject(new PoolBusy(options.name));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        waiting.splice(waiting.indexOf(entry), 1);
        counts.cancelled++;
        reject(new WorkerCancelled(signal?.reason));
      };
      const entry = {
        go() {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail(error: Error) {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      waiting.push(entry);
    });
  };
  // A finishing task hands its thread straight to the next in line, so `running` never dips.
  const release = () => {
    const next = waiting.shift();
    if (next) next.go();
    else running--;
  };

  return {
    async run(task, { signal, timeoutMs = options.timeoutMs, transferList } = {}) {
      if (closed) throw new Error(`the ${options.name} worker pool is closed`);
      if (signal?.aborted) {
        counts.cancelled++;
        throw new WorkerCancelled(signal.reason);
      }
      await acquire(signal);
      const deadline = AbortSignal.timeout(timeoutMs);
      try {
        const result = await piscina.run(task, {
          signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
          transferList,
        });
        counts.completed++;
        return result;
      } catch (error) {
        if (signal?.aborted) {
          counts.cancelled++;
          throw new WorkerCancelled(signal.reason);
        }
        if (deadline.aborted) {
          counts.timedOut++;
          throw new WorkerTimeout(timeoutMs);
        }
        counts.failed++;
        throw error;
      } finally {
        release();
      }
    },
    stats: () => ({ running, waiting: waiting.length, threads: piscina.threads.length, ...counts }),
    async close() {
      closed = true;
      for (const entry of waiting.splice(0)) entry.fail(new Error(`the ${options.name} worker pool is closed`));
      await piscina.destroy();
    },
  };
}
