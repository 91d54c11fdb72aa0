import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createServer, type Server } from '../src/server.js';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase, postgresUrl } from './helpers/postgres.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { testConfig, withClient } from './helpers/test-server.js';

/**
 * A real database behind a proxy the test can cut: the Postgres that DATABASE_URL names, or
 * else a PGlite served over the Postgres wire protocol by this test process.
 */
async function databaseBehindProxy(): Promise<{ proxy: TcpProxy; url: string; cleanup(): Promise<void> }> {
  if (postgresUrl) {
    const scratch = await createScratchDatabase(postgresUrl);
    const upstream = new URL(scratch.url);
    const proxy = await startTcpProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) });
    upstream.host = `127.0.0.1:${proxy.port}`;
    const cleanup = async () => {
      await proxy.close();
      await scratch.drop();
    };
    return { proxy, url: upstream.toString(), cleanup };
  }
  const db = await PGlite.create({ dataDir: 'memory://', extensions: { vector } });
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-pg-'));
  const path = join(dir, '.s.PGSQL.5432');
  const socketServer = new PGLiteSocketServer({ db, path, maxConnections: 20 });
  await socketServer.start();
  const proxy = await startTcpProxy({ path });
  return {
    proxy,
    url: `postgresql://postgres@127.0.0.1:${proxy.port}/postgres`,
    async cleanup() {
      await proxy.close();
      await socketServer.stop();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function readiness(server: Server) {
  const response = await fetch(new URL('/health/ready', server.url));
  return { status: response.status, body: (await response.json()) as { ready: boolean; reason?: string } };
}

describe('readiness follows the database', () => {
  let server: Server | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('is 503 while the database is unreachable and 200 again when it returns', async () => {
    const db = await databaseBehindProxy();
    cleanup = db.cleanup;
    const config = testConfig({ DATABASE_URL: db.url });
    server = await createServer(config, createLogger('silent'));
    await server.ready;
    expect(await readiness(server)).toMatchObject({ status: 200, body: { ready: true } });

    await db.proxy.cut();
    const down = await readiness(server);
    expect(down.status).toBe(503);
    expect(down.body.reason).toMatch(/^database unreachable/);
    const live = await fetch(new URL('/health/live', server.url));
    expect(live.status).toBe(200);
    const health = await withClient(server).query<{ health: { status: string; database: { status: string } } }>(
      '{ health { status database { status } } }',
    );
    expect(health.data?.health).toEqual({ status: 'down', database: { status: 'down' } });

    await db.proxy.restore();
    const up = await eventually(
      () => readiness(server as Server),
      (r) => r.status === 200,
    );
    expect(up).toMatchObject({ status: 200, body: { ready: true } });
  });

  it('starts while the database is down, then migrates and becomes ready when it appears', async () => {
    const db = await databaseBehindProxy();
    cleanup = db.cleanup;
    await db.proxy.cut();
    server = await createServer(testConfig({ DATABASE_URL: db.url }), createLogger('silent'));
    const before = await readiness(server);
    expect(before.status).toBe(503);
    expect(before.body.reason).toBe('migrations are not applied yet');

    await db.proxy.restore();
    await server.ready;
    expect(await readiness(server)).toMatchObject({ status: 200 });
  });
});
