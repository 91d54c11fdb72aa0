import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { stopWhenDone } from './helpers/cleanup.js';
import { type ServerProcess, spawnServer } from './helpers/spawn-server.js';
import { startTestServer } from './helpers/test-server.js';

/** Starting a server takes seconds, and far longer on a loaded machine: a generous bound. */
const STARTUP_MS = 120_000;

/** Whether something still answers on `url`: a refused connection is the answer we want. */
const answers = (url: string) =>
  fetch(url).then(
    () => true,
    () => false,
  );

/**
 * A test that fails or times out never reaches its own cleanup; the helpers stop what they
 * started anyway, before the next test runs. Each `it.fails` below breaks on purpose; the test
 * after it checks that nothing it started is still running.
 */
describe('what a failed test started is stopped before the next test', () => {
  let httpUrl = '';
  it.fails('a test that times out while holding a listening socket', { timeout: 1_000 }, async () => {
    const http: HttpServer = createHttpServer((_req, res) => res.end('still here'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    stopWhenDone(() => new Promise<void>((resolve) => http.close(() => resolve())));
    httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}/`;
    await new Promise(() => {}); // never ends: the test times out
  });
  it('finds that socket closed', async () => {
    expect(httpUrl).not.toBe('');
    expect(await answers(httpUrl)).toBe(false);
  });

  let serverUrl = '';
  it.fails('a test that fails after startTestServer, without closing it', { timeout: STARTUP_MS }, async () => {
    const server = await startTestServer();
    serverUrl = new URL('/health/live', server.url).toString();
    expect(await answers(serverUrl)).toBe(true);
    expect('the test').toBe('failing here'); // no finally, no close
  });
  it('finds that server stopped', async () => {
    expect(serverUrl).not.toBe('');
    expect(await answers(serverUrl)).toBe(false);
  });

  let child: ServerProcess | undefined;
  it.fails('a test that fails after spawnServer, without stopping the process', { timeout: STARTUP_MS }, async () => {
    child = spawnServer({ PORT: '0', DATA_DIR: 'memory://' });
    await child.url;
    expect('the test').toBe('failing here');
  });
  it('finds that process exited', async () => {
    expect(child).toBeDefined();
    expect(child?.child.exitCode !== null || child?.child.signalCode !== null).toBe(true);
  });
});
