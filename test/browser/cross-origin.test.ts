/**
 * A web app on another origin in a real browser: a page served from http://app.test (listed in
 * CORS_ORIGINS) uses urql and graphql-ws with an API key, and gets data, streamed tokens over SSE
 * and WebSocket, and an upload through; the same page served from http://evil.test gets nothing:
 * its fetches fail CORS and its WebSocket is refused, and nothing it tried ran on the server.
 * Both names resolve to loopback inside Chromium (--host-resolver-rules). Needs Debian's
 * Chromium at /usr/bin/chromium (.ci/setup-browser.sh); skipped without it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../helpers/chromium.js';
import { stopWhenDone } from '../helpers/cleanup.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ADMIN_KEY = 'cross-origin-test-admin-key-0123456789abcdef';
/** Generous, below the test's timeout: Chromium on a loaded machine is slow. */
const BROWSER_WAIT_MS = 60_000;

interface Outcome {
  data?: Record<string, unknown> | string;
  errors?: { message: string; code?: string }[];
  networkError?: string;
}
interface Streamed {
  events: { __typename: string; seq?: number; message?: { status: string; content: string } }[];
  end: Outcome;
}
interface Target {
  url: string;
  key: string;
}
type PageApi = {
  query(target: Target, source: string, headers?: Record<string, string>): Promise<Outcome>;
  mutate(target: Target, source: string, variables: Record<string, unknown>): Promise<Outcome>;
  upload(target: Target, headers?: Record<string, string>): Promise<Outcome>;
  chatOverSse(target: Target, content: string): Promise<Streamed>;
  chatOverWebSocket(target: Target, content: string): Promise<Streamed>;
};

/** Serves one HTML page that loads the bundled client script; returns its port. */
async function servePage(script: string): Promise<number> {
  const html =
    '<!doctype html><html><head><title>app</title><script src="/page.js"></script></head><body></body></html>';
  const server: Server = createServer((request, response) => {
    const isScript = request.url === '/page.js';
    response.writeHead(200, { 'content-type': isScript ? 'text/javascript' : 'text/html' });
    response.end(isScript ? script : html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stopWhenDone(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** Calls one of the page script's checks inside the page. */
function run<K extends keyof PageApi>(page: Page, check: K, ...args: Parameters<PageApi[K]>) {
  return page.evaluate(
    ({ check, args }) =>
      // biome-ignore lint/suspicious/noExplicitAny: the page script's API, typed by PageApi above
      ((window as any).switchyard[check] as (...a: unknown[]) => Promise<unknown>)(...args),
    { check, args: args as unknown[] },
  ) as ReturnType<PageApi[K]>;
}

describe.skipIf(!hasChromium)('a web app on another origin, in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let app: Page;
  let evil: Page;
  let target: Target;
  let appOrigin: string;

  beforeAll(async () => {
    const bundled = await build({
      entryPoints: [new URL('./pages/graphql-client-page.ts', import.meta.url).pathname],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'chrome120',
      write: false,
      logLevel: 'silent',
    });
    const script = bundled.outputFiles[0]?.text ?? '';
    // Two servers, two origins: the same page, allowed at one and not at the other.
    const appPort = await servePage(script);
    const evilPort = await servePage(script);
    appOrigin = `http://app.test:${appPort}`;
    server = await startTestServer({
      CORS_ORIGINS: appOrigin,
      SWITCHYARD_ADMIN_KEY: ADMIN_KEY,
      MOCK_TOKEN_DELAY_MS: '30',
    });
    target = { url: server.url, key: ADMIN_KEY };

    browser = await launchChromium(['--host-resolver-rules=MAP app.test 127.0.0.1, MAP evil.test 127.0.0.1']);
    const context = await browser.newContext();
    app = await context.newPage();
    evil = await context.newPage();
    await app.goto(`${appOrigin}/`, { timeout: BROWSER_WAIT_MS });
    await evil.goto(`http://evil.test:${evilPort}/`, { timeout: BROWSER_WAIT_MS });
    for (const page of [app, evil]) {
      await page.waitForFunction(() => 'switchyard' in window, undefined, { timeout: BROWSER_WAIT_MS });
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  describe('from the allowed origin', () => {
    it('queries with urql (a GET carrying the key and a preflight header; refused without the header)', async () => {
      const result = await run(
        app,
        'query',
        target,
        '{ conversations(first: 1) { edges { node { id } } } health { status } }',
      );
      expect(result.networkError).toBeUndefined();
      expect(result.errors).toBeUndefined();
      expect(result.data).toMatchObject({ health: { status: expect.any(String) } });
      // urql's GET without the header: another site could have sent that one
      const bare = await run(app, 'query', target, '{ health { status } }', {});
      expect(bare.errors?.[0]?.code).toBe('FORBIDDEN');
    });

    it('streams a chat over graphql-ws signed in with connectionParams', async () => {
      const { events, end } = await run(app, 'chatOverWebSocket', target, 'over the socket');
      expect(end).toEqual({ data: 'complete' });
      const deltas = events.filter((e) => e.__typename === 'MessageDelta');
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.map((e) => e.seq)).toEqual([...deltas.map((e) => e.seq)].sort((a, b) => (a ?? 0) - (b ?? 0)));
      expect(events.at(-1)).toMatchObject({
        __typename: 'MessageCompleted',
        message: { status: 'COMPLETE', content: 'Mock reply to: over the socket' },
      });
    });

    it('streams a chat over SSE with urql (fetchSubscriptions)', async () => {
      const { events, end } = await run(app, 'chatOverSse', target, 'over sse');
      expect(end).toEqual({ data: 'complete' });
      expect(events.filter((e) => e.__typename === 'MessageDelta').length).toBeGreaterThan(1);
      expect(events.at(-1)).toMatchObject({ message: { content: 'Mock reply to: over sse' } });
    });

    it('uploads a file with urql when the preflight header is sent, and not without it', async () => {
      const uploaded = await run(app, 'upload', target);
      expect(uploaded.errors).toBeUndefined();
      expect(uploaded.data).toMatchObject({ uploadDocument: { title: 'from the page' } });
      expect(await server.app.database.prisma.document.count({ where: { title: 'from the page' } })).toBe(1);

      const refused = await run(app, 'upload', target, {});
      expect(refused.errors?.[0]?.code).toBe('FORBIDDEN');
      expect(await server.app.database.prisma.document.count({ where: { title: 'from the page' } })).toBe(1);
    });
  });

  describe('from an origin not in CORS_ORIGINS', () => {
    it('cannot read a query: the browser blocks the answer', async () => {
      const result = await run(evil, 'query', target, '{ health { status } }');
      expect(result.networkError).toMatch(/Failed to fetch/);
    });

    it('cannot run a mutation or a subscription, over HTTP or WebSocket: nothing happens on the server', async () => {
      const conversations = await server.app.database.prisma.conversation.count();
      const documents = await server.app.database.prisma.document.count();
      const sent = await run(
        evil,
        'mutate',
        target,
        'mutation { sendMessage(input: { content: "evil" }) { conversation { id } } }',
        {},
      );
      expect(sent.networkError).toMatch(/Failed to fetch/);
      const sse = await run(evil, 'chatOverSse', target, 'evil over sse');
      expect(sse.events).toEqual([]);
      expect(sse.end.networkError).toBeDefined();
      const socket = await run(evil, 'chatOverWebSocket', target, 'evil over the socket');
      expect(socket.events).toEqual([]);
      // refused at the upgrade (1006 in a browser), not signed in and then closed (4403)
      expect(socket.end.networkError).toBe('WebSocket closed with 1006');
      const upload = await run(evil, 'upload', target);
      expect(upload.networkError).toMatch(/Failed to fetch/);
      expect(await server.app.database.prisma.conversation.count()).toBe(conversations);
      expect(await server.app.database.prisma.document.count()).toBe(documents);
    });
  });
});
