/**
 * A real browser against a real server: a browser GET of /graphql shows GraphiQL, and a
 * subscription run from GraphiQL streams into its result pane. Needs Debian's Chromium at
 * /usr/bin/chromium (CI installs it with .ci/setup-browser.sh); skipped without it.
 * A screenshot of the finished run is written to $BROWSER_SCREENSHOT_DIR (default: a
 * `switchyard-browser` folder in the OS temp dir).
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { hasChromium, launchChromium } from '../helpers/chromium.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const screenshotDir = process.env.BROWSER_SCREENSHOT_DIR ?? join(tmpdir(), 'switchyard-browser');

const SUBSCRIPTION =
  'subscription { chat(input: { content: "hello from the browser" }) { __typename ' +
  '... on MessageDelta { seq text } ... on MessageCompleted { message { status content } } } }';

/** Every URL the page may load: the server itself (loopback) and in-page data:/blob: URLs. */
function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:') return true;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
}

/** Generous, below the test's timeout: Chromium on a loaded machine is slow to start and paint. */
const BROWSER_WAIT_MS = 60_000;

describe.skipIf(!hasChromium)('GraphiQL in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    // Tokens far enough apart that a busy browser still paints some before the last one.
    server = await startTestServer({ MOCK_TOKEN_DELAY_MS: '300' });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    context.on('request', (request) => requested.push(request.url()));
    page = await context.newPage();
    page.on('websocket', (socket) => requested.push(socket.url()));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows GraphiQL on a browser GET, and a subscription run from it streams into the result pane', async () => {
    mkdirSync(screenshotDir, { recursive: true });
    onTestFailed(async () => {
      await page?.screenshot({ path: join(screenshotDir, 'graphiql-failure.png') }).catch(() => {});
    });

    // The browser's own navigation: Accept text/html, so Yoga answers with GraphiQL. GraphiQL
    // takes the operation from ?query=, which is what the editor then holds.
    const response = await page.goto(`${server.url}?query=${encodeURIComponent(SUBSCRIPTION)}`);
    expect(response?.status()).toBe(200);
    expect((await response?.request().allHeaders())?.accept).toContain('text/html');
    expect(response?.headers()['content-type']).toContain('text/html');

    const execute = page.locator('.graphiql-execute-button');
    await execute.waitFor({ state: 'visible', timeout: BROWSER_WAIT_MS });
    await expect.poll(() => page.title(), { timeout: BROWSER_WAIT_MS }).toContain('Switchyard');
    await page
      .locator('.graphiql-query-editor')
      .getByText('hello from the browser')
      .waitFor({ timeout: BROWSER_WAIT_MS });

    // Record every distinct text the result pane shows, from before the click on.
    await page.locator('.graphiql-response').waitFor({ state: 'attached', timeout: BROWSER_WAIT_MS });
    await page.evaluate(() => {
      const pane = document.querySelector('.graphiql-response') as Element;
      const seen: string[] = [];
      (window as unknown as { responseTexts: string[] }).responseTexts = seen;
      const record = () => {
        const text = (pane.textContent ?? '').replace(/\s+/g, ' ').trim();
        if (text && text !== seen.at(-1)) seen.push(text);
      };
      new MutationObserver(record).observe(pane, { subtree: true, childList: true, characterData: true });
    });

    await execute.click();
    await page.waitForFunction(
      () =>
        (window as unknown as { responseTexts: string[] }).responseTexts.some((t) =>
          t.includes('"status": "COMPLETE"'),
        ),
      undefined,
      { timeout: BROWSER_WAIT_MS },
    );
    const texts = await page.evaluate(() => (window as unknown as { responseTexts: string[] }).responseTexts);
    await page.screenshot({ path: join(screenshotDir, 'graphiql-subscription.png') });

    // Streamed: deltas were on screen, in order, before the completed message replaced them.
    const firstDelta = texts.findIndex((t) => t.includes('"__typename": "MessageDelta"'));
    const completed = texts.findIndex((t) => t.includes('"status": "COMPLETE"'));
    expect(firstDelta, texts.join('\n')).toBeGreaterThanOrEqual(0);
    expect(firstDelta).toBeLessThan(completed);
    const seqs = texts.slice(0, completed).flatMap((t) => [...t.matchAll(/"seq": (\d+)/g)].map((m) => Number(m[1])));
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const final = texts[completed] ?? '';
    expect(final).toContain('"__typename": "MessageCompleted"');
    expect(final).toContain('"content": "Mock reply to: hello from the browser"');

    // GraphiQL's assets are inlined: nothing left the machine.
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((url) => !isLocal(url))).toEqual([]);
  });
});
