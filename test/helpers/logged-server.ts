import { createLogger } from '../../src/logger.js';
import { eventually } from './eventually.js';
import { createTestServer, type TestServer, testConfig, withClient } from './test-server.js';

/** One line the server logged, parsed. */
export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

/**
 * A test server whose log lines (at `level` and above) are kept for the test to read, instead of
 * going to stderr: for asserting that a failure was logged. Stopped when the calling test (or,
 * from a hook, the file) ends, like startTestServer's.
 */
export async function startLoggedServer(
  env: Record<string, string | undefined> = {},
  level: 'info' | 'warn' | 'error' = 'warn',
): Promise<{ server: TestServer; logs: LogLine[] }> {
  const logs: LogLine[] = [];
  const config = testConfig({ ...env, LOG_LEVEL: level });
  const server = await createTestServer(
    config,
    createLogger(level, (line) => {
      logs.push(JSON.parse(line) as LogLine);
    }),
  );
  await server.ready;
  return { server: withClient(server), logs };
}

/** The access-log line of the request with this `x-request-id`, once it is written. */
export async function accessLineOf(logs: LogLine[], requestId: string): Promise<LogLine> {
  const lines = await eventually(
    () => logs.filter((line) => line.message === 'access' && line.requestId === requestId),
    (found) => found.length > 0,
    { what: `the access line of ${requestId}` },
  );
  return lines[0] as LogLine;
}
