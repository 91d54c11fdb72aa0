import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { type TestServer, testConfig, withClient } from './helpers/test-server.js';

interface LogLine {
  level: string;
  message: string;
  requestId?: string;
  code?: string;
  error?: { message: string };
}

const QUERY = '{ conversations(first: 5) { edges { node { id title } } } }';

/**
 * An error the code does not expect (here the database lost a table under the server) reaches
 * the client masked, and the log line beside it carries what an operator needs to find it.
 */
describe('unexpected errors', () => {
  let server: TestServer;
  const lines: string[] = [];
  const logged = () => lines.map((line) => JSON.parse(line) as LogLine);

  beforeAll(async () => {
    const config = testConfig();
    server = withClient(
      await createServer(
        config,
        createLogger('error', (line) => lines.push(line)),
      ),
    );
    await server.ready;
    // A real failure below the resolvers, of a kind no code path maps to an AppError.
    await server.app.database.prisma.$executeRawUnsafe('ALTER TABLE conversations RENAME TO conversations_moved');
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = async (headers: Record<string, string> = {}) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: QUERY }),
    });
    return { status: response.status, text: await response.text() };
  };

  it('reaches the client as "Unexpected error." with INTERNAL_SERVER_ERROR and the request id, and nothing of the cause', async () => {
    const { text } = await post({ 'x-request-id': 'req-masking-1' });
    // The whole body, so that neither the driver's text, the table's name nor a stack can leak.
    expect(JSON.parse(text)).toEqual({
      data: null,
      errors: [
        {
          message: 'Unexpected error.',
          locations: [{ line: 1, column: 3 }],
          path: ['conversations'],
          extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-masking-1' },
        },
      ],
    });
  });

  it('is logged once with its message, the code and the same request id the client got', async () => {
    const before = lines.length;
    const { text } = await post();
    const requestId = (JSON.parse(text) as { errors: { extensions: { requestId: string } }[] }).errors[0]?.extensions
      .requestId;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const mine = logged()
      .slice(before)
      .filter((line) => line.requestId === requestId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ level: 'error', message: 'unexpected error', code: 'INTERNAL_SERVER_ERROR' });
    expect(mine[0]?.error?.message).toMatch(/conversations/); // the cause, for the operator
  });

  it('keeps a request id the client chose only within a safe shape, and makes a new one otherwise', async () => {
    const idOf = async (header: string) =>
      (JSON.parse((await post({ 'x-request-id': header })).text) as { errors: { extensions: { requestId: string } }[] })
        .errors[0]?.extensions.requestId;
    expect(await idOf('trace-1.2:3_x')).toBe('trace-1.2:3_x');
    for (const hostile of ['x'.repeat(129), 'a b', '"}{"level":"info', '<script>']) {
      expect(await idOf(hostile)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
