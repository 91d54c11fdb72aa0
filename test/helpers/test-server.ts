import { type Config, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
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

/** Starts a server on a free port; it is stopped when the calling test (or, from a hook, the file) ends. */
export async function startTestServer(env: Record<string, string | undefined> = {}): Promise<TestServer> {
  const config = testConfig(env);
  const server = await createServer(config, createLogger(config.logLevel));
  // Registered before `ready`: a test that times out while migrations run still stops it.
  stopWhenDone(() => server.close());
  await server.ready;
  return withClient(server);
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
