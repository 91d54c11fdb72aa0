import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** How to start a worker whose entry file sits next to the module asking for it. */
export interface WorkerFile {
  filename: URL;
  /** Node options for the worker: tsx's loader when running from source, else the process's own. */
  execArgv: string[] | undefined;
}

/**
 * The worker entry `name` beside `moduleUrl` (the caller's `import.meta.url`): `name.js` when the
 * caller runs compiled (`node dist/main.js`), `name.ts` with tsx loaded in the worker when it runs
 * from source (`node --import tsx`, vitest), since a worker thread starts without the parent's loader.
 *
 * @example
 * const pool = new Piscina({ filename: file.filename.href, execArgv: file.execArgv });
 */
export function workerFile(moduleUrl: string, name: string): WorkerFile {
  const fromSource = new URL(moduleUrl).pathname.endsWith('.ts');
  return {
    filename: new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, moduleUrl),
    execArgv: fromSource ? ['--import', 'tsx'] : undefined,
  };
}

/**
 * Starts a worker thread on `file`. From source the thread starts on require-entry.cjs, which
 * requires the `.ts` entry: on Node 20 `--import tsx` gives a worker thread tsx's require hook but
 * not its ESM hooks, so the entry is loaded as CommonJS (it may not use top-level await). Piscina
 * loads its tasks' files the same way.
 */
export function startWorker(file: WorkerFile, options: WorkerOptions = {}): Worker {
  if (file.execArgv === undefined) return new Worker(file.filename, options);
  return new Worker(new URL('./require-entry.cjs', import.meta.url), {
    ...options,
    execArgv: file.execArgv,
    argv: [...(options.argv ?? []), fileURLToPath(file.filename)],
  });
}
