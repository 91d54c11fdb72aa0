import { ConfigError, loadConfig } from './config.js';
import { startEmbeddedDatabase } from './db/embedded-database.js';
import type { PgliteHost } from './db/pglite-host.js';
import { createLogger } from './logger.js';

/** Entry point: read config, start, and shut down cleanly on SIGINT/SIGTERM. */
async function main() {
  let config: ReturnType<typeof loadConfig>;
  let logger: ReturnType<typeof createLogger>;
  // Embedded PGlite opens on its own thread while this one loads the server's modules.
  let embeddedDatabase: PgliteHost | undefined;
  try {
    config = loadConfig();
    logger = createLogger(config.logLevel);
    if (config.database.kind === 'pglite') embeddedDatabase = startEmbeddedDatabase(config.database.dataDir, logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Loaded only now: its modules take seconds to load, and a refused start should not wait for them.
  const { createServer } = await import('./server.js');
  const server = await createServer(config, logger, { embeddedDatabase }).catch((error) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  });
  server.ready.then(
    async () => {
      const refusal = await server.app.auth.refusal();
      if (refusal) {
        process.stderr.write(`${refusal}\n`);
        await server.close().catch(() => {});
        process.exit(1);
      }
      if (await server.app.auth.localDefault()) {
        logger.info(
          'no credentials configured and listening on loopback: requests without one act as the local default user (README: Keys and sign-in)',
        );
      }
      process.stdout.write(`Switchyard is running at ${server.url}\n`);
    },
    () => {},
  );

  let stopping = false;
  const stop = (signal: string) => {
    // A second signal must not kill the drain half-way (that default would skip the INTERRUPTED marks).
    if (stopping) {
      logger.warn('still draining; SIGKILL stops at once', { signal, timeoutMs: config.shutdownTimeoutMs });
      return;
    }
    stopping = true;
    logger.info('shutting down', { signal, timeoutMs: config.shutdownTimeoutMs });
    // The drain's own bound, plus the bounded steps after it (readers, HTTP, sockets, database).
    const force = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 10_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (error) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error) => {
  process.stderr.write(`Switchyard failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
