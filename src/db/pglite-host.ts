import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { PoolConfig } from 'pg';
import { MEMORY_DATA_DIR } from '../config.js';
import { type SessionSettings, setStatements } from './session-settings.js';

export interface PgliteHost {
  /** Connection settings for node-postgres: a Unix socket only this process knows of. */
  connection: PoolConfig;
  close(): Promise<void>;
}

const SOCKET_PORT = 5432;

/**
 * Runs PGlite (real Postgres compiled to WASM, with pgvector) in this process, its session set up
 * with `settings`, and serves it on a private Unix socket, so Prisma's ordinary `pg` adapter talks
 * to it exactly as to a server.
 * The socket server takes one connection: callers must use a pool of one.
 */
export async function startPgliteHost(dataDir: string, settings: SessionSettings = {}): Promise<PgliteHost> {
  if (dataDir !== MEMORY_DATA_DIR) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir, extensions: { vector } });
  // PGlite has one session, which the socket's connections share; it ignores startup options.
  if (Object.keys(settings).length > 0) await db.exec(setStatements(settings));
  // Unix socket paths are limited to ~100 bytes, so the socket lives in a short temp dir.
  const socketDir = mkdtempSync(join(tmpdir(), 'switchyard-pg-'));
  const server = new PGLiteSocketServer({ db, path: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`), maxConnections: 1 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    rmSync(socketDir, { recursive: true, force: true });
    throw error;
  }
  return {
    connection: { host: socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 1 },
    async close() {
      await server.stop();
      await db.close();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
