/**
 * GraphiQL on a server that needs credentials: the key in GraphiQL's Headers editor (which it
 * keeps in localStorage, as a user's earlier edit leaves it) goes with every operation; without
 * it the same operation shows UNAUTHENTICATED. Needs Debian's Chromium; skipped without it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../helpers/chromium.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ADMIN_KEY = 'graphiql-admin-key-0123456789-abcdefgh';
const QUERY = '{ viewer { scopes user { name } } }';
/** Generous, below the test's timeout: Chromium on a loaded machine is slow to start and paint. */
const BROWSER_WAIT_MS = 60_000;

describe.skipIf(!hasChromium)('GraphiQL with a key in its Headers editor', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ SWITCHYARD_ADMIN_KEY: ADMIN_KEY });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens GraphiQL with `headers` in its editor, runs QUERY, and returns the result pane's text. */
  async function run(headers: string | undefined): Promise<{ page: Page; result: string }> {
    const page = await (await browser.newContext()).newPage();
    if (headers !== undefined) {
      await page.addInitScript((value) => localStorage.setItem('graphiql:headers', value), headers);
    }
    await page.goto(`${server.url}?query=${encodeURIComponent(QUERY)}`);
    const execute = page.locator('.graphiql-execute-button');
    await execute.waitFor({ state: 'visible', timeout: BROWSER_WAIT_MS });
    await execute.click();
    const response = page.locator('.graphiql-response');
    await expect
      .poll(async () => (await response.textContent()) ?? '', { timeout: BROWSER_WAIT_MS })
      .toMatch(/"(data|errors)"/);
    return { page, result: ((await response.textContent()) ?? '').replace(/\s+/g, ' ') };
  }

  it('sends the key from the Headers editor with the operation', async () => {
    const { page, result } = await run(JSON.stringify({ Authorization: `Bearer ${ADMIN_KEY}` }));
    expect(result).toContain('"ADMIN"');
    expect(result).not.toContain('UNAUTHENTICATED');
    // The key is what the Headers editor holds, where the user edits it.
    await page.getByText('Headers', { exact: true }).first().click();
    await page.getByText(ADMIN_KEY, { exact: false }).first().waitFor({ timeout: BROWSER_WAIT_MS });
  });

  it('shows UNAUTHENTICATED without it', async () => {
    const { result } = await run(undefined);
    expect(result).toContain('UNAUTHENTICATED');
    expect(result).not.toContain('"ADMIN"');
  });
});
