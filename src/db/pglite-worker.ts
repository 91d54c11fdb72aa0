// Entry of the thread that owns embedded PGlite (see pglite-host.ts): Postgres' WASM runs every
// statement synchronously, and here that blocks this thread, never the server's event loop.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { coalesceWrites } from '../util/coalesced-writes.js';
import { extractTar } from './extract-tar.js';
import { type SessionSettings, setStatements } from './session-settings.js';

export interface PgliteWorkerData {
  dataDir: string;
  settings: SessionSettings;
  socketPath: string;
  /** A tarball of a new data directory to start from instead of running initdb (see pglite-host.ts). */
  template?: string | undefined;
  /** Whether `dataDir` is PGlite's in-memory one, which only PGlite itself can fill. */
  inMemory: boolean;
}

/** Connections the socket takes at once: the pool's one, and replacements racing its close. */
const SOCKET_CONNECTIONS = 8;

/** What the thread tells its host. */
export type PgliteWorkerMessage = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'closed' };

// Loaded as CommonJS from source (see startWorker): no top-level await here.
const port = parentPort;
const { dataDir, settings, socketPath, template, inMemory } = workerData as PgliteWorkerData;
const send = (message: PgliteWorkerMessage) => port?.postMessage(message);

/** Opens PGlite and serves it; answers `ready` or `failed`, then `closed` when told to close. */
async function serve() {
  let db: PGlite | undefined;
  try {
    let loadDataDir: Blob | undefined;
    if (template !== undefined && inMemory) loadDataDir = new Blob([readFileSync(template)]);
    // PG_VERSION last: a start cut off while extracting finds no PG_VERSION and extracts again.
    else if (template !== undefined) extractTar(readFileSync(template), dataDir, 'PG_VERSION');
    db = await PGlite.create({ dataDir, extensions: { vector }, loadDataDir });
    // PGlite has one session, which the socket's connections share; it ignores startup options.
    if (Object.keys(settings).length > 0) await db.exec(setStatements(settings));
    // The pool holds one connection, but node-postgres drops a connection whose query failed and
    // opens the next at once, often before this thread has seen the old one close: with room for
    // one connection only, that next one was refused ("Server has closed the connection"). The
    // socket server queues the connections' queries on the one session and rolls back a closed
    // connection's open transaction.
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: SOCKET_CONNECTIONS });
    await server.start();
    answerInOneWrite(server);
    const opened = db;
    port?.once('message', async () => {
      // Stop serving, then close PGlite, so the data directory is left consistent.
      await server.stop().catch(() => {});
      await opened.close();
      send({ type: 'closed' });
      port?.close();
    });
    send({ type: 'ready' });
  } catch (error) {
    await db?.close().catch(() => {});
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    port?.close();
  }
}

/**
 * The socket server answers each protocol message of a query (parse, bind, execute, sync...) with
 * its own socket write, five or more per statement, each a system call and a wake-up of the
 * server's thread: coalesced, a statement's answer leaves in one. The net server is the socket
 * server's private field: without it (another version) answers go out as before.
 */
function answerInOneWrite(server: PGLiteSocketServer) {
  const net = (server as unknown as { server?: Server | null }).server;
  net?.on('connection', coalesceWrites);
}

void serve();
