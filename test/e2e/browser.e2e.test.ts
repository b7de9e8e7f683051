import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TabConfig, TabState, TokenTest } from './browser/entry.js';
import { CHROMIUM, launchChromium } from './support/chromium.js';
import { buildPageBundle } from './support/page-bundle.js';
import { INITIAL, startTokenApi } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';

const TABS = 4;
const REQUESTS_EACH = 10;
const REFRESH_TIMEOUT_MS = 10_000;
/** The lease the session asks its store for (see session.ts): a closed tab must free the lock well before it. */
const SESSION_LEASE_MS = REFRESH_TIMEOUT_MS * 2 + 5000;
const STORAGES = ['memory', 'localStorage', 'indexedDB'] as const;

declare global {
  var tokenTest: TokenTest;
}

let bundle: string;
let browser: Browser;
let context: BrowserContext | undefined;
let api: TokenApi | undefined;
let runs = 0;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing: install it with \`apt-get install chromium\`.`,
    );
  }
  bundle = await buildPageBundle();
  browser = await launchChromium();
});

afterEach(async () => {
  await context?.close();
  context = undefined;
  await api?.close();
  api = undefined;
});

afterAll(async () => {
  await browser?.close();
});

/** Opens the test page in `TABS` tabs of one browser context (one origin: they share Web Locks and channels). */
async function openTabs(storage: TabConfig['storage']): Promise<{ pages: Page[]; clients: string[] }> {
  api = await startTokenApi({
    '/': {
      type: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>tabs</title><script src="/bundle.js"></script>',
    },
    '/bundle.js': { type: 'text/javascript', body: bundle },
  });
  context = await browser.newContext();
  const name = `e2e-${storage}-${(runs += 1)}`;
  const pages: Page[] = [];
  const clients: string[] = [];
  for (let index = 0; index < TABS; index += 1) {
    const page = await context.newPage();
    await page.goto(`${api.url}/`);
    const config: TabConfig = { client: `tab-${index}`, name, storage, refreshTimeoutMs: REFRESH_TIMEOUT_MS };
    await page.evaluate((c) => globalThis.tokenTest.start(c), config);
    pages.push(page);
    clients.push(config.client);
  }
  // One tab logs in; the others learn the tokens through the store.
  await pages[0]!.evaluate((tokens) => globalThis.tokenTest.login(tokens), { ...INITIAL });
  await Promise.all(pages.map((page) => page.evaluate(() => globalThis.tokenTest.listen())));
  return { pages, clients };
}

const burst = (page: Page) => page.evaluate((n) => globalThis.tokenTest.burst(n), REQUESTS_EACH);
const state = (page: Page): Promise<TabState> => page.evaluate(() => globalThis.tokenTest.state());

describe.each(STORAGES)('createBrowserTokenStore() in 4 tabs of Chromium, %s storage', (storage) => {
  it('makes exactly one refresh when every tab hits the expired token at once, and every tab ends with the new tokens', async () => {
    const { pages } = await openTabs(storage);
    const results = await Promise.all(pages.map(burst));

    expect(results.flatMap((result) => result.failures)).toEqual([]);
    expect(results.reduce((sum, result) => sum + result.ok, 0)).toBe(TABS * REQUESTS_EACH);
    expect(api!.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([['refresh-0', 'rotated']]);
    expect(api!.revoked()).toBe(false);
    const states = await Promise.all(pages.map(state));
    expect(states.every((s) => s.webLocks)).toBe(true);
    expect(states.map((s) => [s.accessToken, s.refreshToken])).toEqual(Array(TABS).fill(['access-1', 'refresh-1']));
    // onTokens once, in the tab that refreshed; the `tokens` event once in every tab.
    expect(states.reduce((sum, s) => sum + s.onTokensCalls, 0)).toBe(1);
    expect(states.map((s) => s.tokenEvents)).toEqual(Array(TABS).fill(['access-1']));
    console.info(
      `[e2e browser ${storage}] ${TABS}×${REQUESTS_EACH} requests, ${api!.api.unauthorized} answered 401, ${api!.rotations()} refresh`,
    );
  });

  it('lets another tab complete the refresh when the tab holding the lock is closed mid-refresh', async () => {
    const { pages, clients } = await openTabs(storage);
    let closedAt = 0;
    let closing: Promise<void> | undefined;
    let closedIndex = -1;
    api!.hangNextRefresh((client) => {
      closedIndex = clients.indexOf(client);
      closedAt = performance.now();
      closing = pages[closedIndex]!.close();
    });
    const results = await Promise.allSettled(pages.map(burst));
    const recoveryMs = Math.round(performance.now() - closedAt);
    await closing;

    expect(closedIndex).toBeGreaterThanOrEqual(0);
    const survivors = pages.filter((_, index) => index !== closedIndex);
    const survivorResults = results.filter((_, index) => index !== closedIndex);
    expect(survivorResults.map((result) => result.status === 'fulfilled' && result.value)).toEqual(
      Array(TABS - 1).fill({ ok: REQUESTS_EACH, failures: [] }),
    );
    // The closed tab's refresh never completed, so presenting refresh-0 again is no reuse.
    expect(api!.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([
      ['refresh-0', 'abandoned'],
      ['refresh-0', 'rotated'],
    ]);
    expect(api!.revoked()).toBe(false);
    const states = await Promise.all(survivors.map(state));
    expect(states.map((s) => [s.accessToken, s.refreshToken])).toEqual(Array(TABS - 1).fill(['access-1', 'refresh-1']));
    // The browser freed the closed tab's Web Lock at once: nobody waited for the lease to run out.
    expect(recoveryMs).toBeLessThan(SESSION_LEASE_MS);
    console.info(`[e2e browser ${storage}] holder tab closed; the other tabs were done ${recoveryMs} ms later`);
  });
});
