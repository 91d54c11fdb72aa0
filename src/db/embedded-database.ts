import { HNSW_SESSION_SETTINGS } from '../embeddings/hnsw-settings.js';
import type { Logger } from '../logger.js';
import { lockDataDir } from './data-dir-lock.js';
import { type PgliteHost, type PgliteHostOptions, startPgliteHost } from './pglite-host.js';

/**
 * Takes the embedded data directory (synchronously: a live holder throws a ConfigError at once)
 * and starts PGlite's thread on it. `main` calls this before it loads the server's modules, so the
 * database opens while they load; `ready` says when it serves. Closing releases the directory.
 */
export function startEmbeddedDatabase(dataDir: string, logger: Logger, options: PgliteHostOptions = {}): PgliteHost {
  const lock = lockDataDir(dataDir);
  let host: PgliteHost;
  try {
    host = startPgliteHost(dataDir, HNSW_SESSION_SETTINGS, logger, options);
  } catch (error) {
    lock.release();
    throw error;
  }
  host.ready.catch(() => lock.release());
  return {
    connection: host.connection,
    ready: host.ready,
    async close() {
      await host.close();
      lock.release();
    },
  };
}
