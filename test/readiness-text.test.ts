import { createServer as createTcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { eventually } from './helpers/eventually.js';
import { type TestServer, testConfig, withClient } from './helpers/test-server.js';

/** A loopback port nobody listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('/health/ready says what is wrong without echoing the driver', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    port = await closedPort();
    const url = `postgresql://secret_user:hunter2@127.0.0.1:${port}/secret_db`;
    const config = testConfig({ DATABASE_URL: url });
    server = withClient(await createServer(config, createLogger('silent')));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('reports the database as not reachable, with no host, port, user or driver message', async () => {
    const ready = await eventually(
      async () => {
        const response = await fetch(new URL('/health/ready', server.url));
        return { status: response.status, text: await response.text() };
      },
      (r) => r.text.includes('"database":{"status":"down"'),
      { what: 'a readiness report with the database down' },
    );
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.text);
    expect(body).toMatchObject({ ready: false, health: { database: { status: 'down', error: 'not reachable' } } });
    for (const secret of ['127.0.0.1', String(port), 'secret_user', 'hunter2', 'secret_db', 'ECONNREFUSED']) {
      expect(ready.text).not.toContain(secret);
    }

    const health = await server.query<{ health: { database: { status: string; error: string } } }>(
      '{ health { database { status error } } }',
    );
    expect(health.data?.health.database).toEqual({ status: 'down', error: 'not reachable' });
  });
});
