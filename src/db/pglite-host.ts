import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PoolConfig } from 'pg';
import { MEMORY_DATA_DIR } from '../config.js';
import type { Logger } from '../logger.js';
import { startWorker, workerFile } from '../util/worker-file.js';
import type { PgliteWorkerData, PgliteWorkerMessage } from './pglite-worker.js';
import type { SessionSettings } from './session-settings.js';

export interface PgliteHost {
  /** Connection settings for node-postgres: a Unix socket only this process knows of. */
  connection: PoolConfig;
  /** Resolves once PGlite serves the socket; rejects (thread stopped, socket removed) if it cannot. */
  ready: Promise<void>;
  close(): Promise<void>;
}

const SOCKET_PORT = 5432;
/**
 * A new data directory with every migration applied, made by `npm run build` (absent from source;
 * see make-pglite-template.ts): restoring it is much cheaper than PGlite's initdb plus migrating.
 */
const TEMPLATE = fileURLToPath(new URL('./pglite-template.tar', import.meta.url));
/** How long closing waits for PGlite to write out its data before the thread is terminated. */
const CLOSE_TIMEOUT_MS = 15_000;

export interface PgliteHostOptions {
  /**
   * The tar a new data directory starts from: by default the one `npm run build` made beside this
   * module, when it exists; `false` runs PGlite's initdb and leaves every migration to the server.
   */
  template?: string | false;
}

/**
 * Runs PGlite (real Postgres compiled to WASM, with pgvector) on a worker thread of this process,
 * its session set up with `settings`, serving it on a private Unix socket, so Prisma's ordinary
 * `pg` adapter talks to it exactly as to a server, and the event loop only ever waits on a socket.
 * The socket server takes one connection: callers must use a pool of one.
 */
export function startPgliteHost(
  dataDir: string,
  settings: SessionSettings = {},
  logger?: Logger,
  options: PgliteHostOptions = {},
): PgliteHost {
  if (dataDir !== MEMORY_DATA_DIR) mkdirSync(dataDir, { recursive: true });
  // Unix socket paths are limited to ~100 bytes, so the socket lives in a short temp dir.
  const socketDir = mkdtempSync(join(tmpdir(), 'switchyard-pg-'));
  const inMemory = dataDir === MEMORY_DATA_DIR;
  const fresh = inMemory || !existsSync(join(dataDir, 'PG_VERSION'));
  const template = options.template ?? TEMPLATE;
  const workerData: PgliteWorkerData = {
    dataDir,
    settings,
    socketPath: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`),
    template: fresh && template !== false && existsSync(template) ? template : undefined,
    inMemory,
  };
  const worker = startWorker(workerFile(import.meta.url, 'pglite-worker'), { workerData });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  let closing = false;

  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (message: PgliteWorkerMessage) =>
      message.type === 'ready'
        ? resolve()
        : reject(new Error(`embedded database did not start: ${messageOf(message)}`)),
    );
    worker.once('error', (error) => reject(new Error(`embedded database did not start: ${error.message}`)));
    exited.then((code) => reject(new Error(`embedded database did not start: its thread exited (${code})`)));
  }).then(
    () => {
      worker.on('error', (error) => logger?.error('embedded database thread failed', { error }));
      exited.then((code) => {
        if (!closing) logger?.error('embedded database thread exited', { code });
      });
    },
    async (error: unknown) => {
      closing = true;
      await worker.terminate();
      rmSync(socketDir, { recursive: true, force: true });
      throw error;
    },
  );
  // Reported to whoever awaits `ready`.
  ready.catch(() => {});

  return {
    connection: { host: socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 1 },
    ready,
    async close() {
      if (closing) return;
      closing = true;
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}

const messageOf = (message: PgliteWorkerMessage) => (message.type === 'failed' ? message.message : message.type);
