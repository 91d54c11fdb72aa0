import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config.js';
import { startEmbeddedDatabase } from '../../src/db/embedded-database.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createServer, type Server } from '../../src/server.js';
import { stopWhenDone } from './cleanup.js';

/** Environment for a server on a free port, quiet, on an in-memory database unless told otherwise. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ PORT: '0', DATA_DIR: 'memory://', LOG_LEVEL: 'silent', SHUTDOWN_TIMEOUT_MS: '2000', ...env });
}

export interface TestServer extends Server {
  /** POSTs a GraphQL operation and returns the parsed JSON body. */
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphqlResult<T>>;
  /** `ws://.../graphql` */
  wsUrl: string;
  origin: string;
}

export interface GraphqlResult<T> {
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

export interface TestServerOptions {
  /**
   * Whether a new embedded database starts from the run's template (test/helpers/pglite-template.ts),
   * as one started by `npm start` does from dist's; `false`: from PGlite's initdb, migrated by the
   * server at start-up (test/migrations.test.ts).
   */
  template?: boolean;
}

/** Starts a server on a free port; it is stopped when the calling test (or, from a hook, the file) ends. */
export async function startTestServer(
  env: Record<string, string | undefined> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const config = testConfig(env);
  const server = await createTestServer(config, createLogger(config.logLevel), options);
  await server.ready;
  return withClient(server);
}

/**
 * createServer for a test, its embedded database (if any) started here, as main.ts starts it, so
 * that it can be given the template; stopped when the calling test (or the file) ends.
 */
export async function createTestServer(
  config: Config,
  logger: Logger,
  options: TestServerOptions = {},
): Promise<Server> {
  const embeddedDatabase =
    config.database.kind === 'pglite'
      ? startEmbeddedDatabase(config.database.dataDir, logger, {
          template: options.template === false ? false : inject('pgliteTemplate'),
        })
      : undefined;
  let server: Server | undefined;
  // Registered before `ready`: a test that times out while migrations run still stops it. The
  // server closes its database; without one yet, the database is closed alone.
  stopWhenDone(async () => {
    if (server) await server.close();
    else await embeddedDatabase?.close();
  });
  try {
    server = await createServer(config, logger, { embeddedDatabase });
  } catch (error) {
    await embeddedDatabase?.close();
    throw error;
  }
  return server;
}

export function withClient(server: Server): TestServer {
  const origin = new URL(server.url).origin;
  return Object.assign(server, {
    origin,
    wsUrl: server.url.replace(/^http/, 'ws'),
    async query<T>(query: string, variables?: Record<string, unknown>) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphqlResult<T>;
    },
  });
}
