/**
 * The browser-tabs row of the sharing table: tabs of one Chromium context share one login through
 * `createBrowserTokenStore` (Web Locks + BroadcastChannel, memory storage) and fire a burst together after a
 * server-side expiry. Reuses the e2e harness: the token API of test/e2e/support/token-api.ts (rotation and reuse
 * detection on 127.0.0.1) and the page script test/e2e/browser/entry.ts, bundled by esbuild.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { TabConfig, TokenTest } from '../test/e2e/browser/entry.js';
import { CHROMIUM, launchChromium } from '../test/e2e/support/chromium.js';
import { buildPageBundle } from '../test/e2e/support/page-bundle.js';
import { INITIAL, startTokenApi } from '../test/e2e/support/token-api.js';
import type { TokenApi } from '../test/e2e/support/token-api.js';
import { elapsedUs, now, sleep } from './measure.js';
import type { SharingResult, SharingSkip } from './sharing.js';

/**
 * Real HTTP through Chromium costs ~10 ms a request on the 2-core bench machine (a plain `fetch` burst costs the same),
 * so 4 × 250 takes about 11 s, 15 s with the launch: a tenth of the simulated rows' burst.
 */
export const BROWSER_REQUESTS_PER_TAB = 250;
const REFRESH_TIMEOUT_MS = 10_000;
/** Bounds for each step, so that a hung tab fails the run with a message instead of stalling it. */
const LAUNCH_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 5_000;
/** Five times the burst's usual time: a loaded machine is no reason to abort the whole bench run. */
const BURST_TIMEOUT_MS = 60_000;

async function withDeadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`browser tabs: ${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Launches Chromium, or says why it cannot: the row is then reported as skipped, like a missing Redis. Only the
 * environment is a reason to skip; once the browser runs, any failure of the measurement is thrown.
 */
async function launch(): Promise<{ browser: Browser } | { why: string }> {
  if (!existsSync(CHROMIUM)) {
    return { why: `needs Debian's Chromium at ${CHROMIUM}, which is missing (apt-get install chromium)` };
  }
  try {
    return { browser: await launchChromium(LAUNCH_TIMEOUT_MS) };
  } catch (error) {
    return { why: `Chromium at ${CHROMIUM} did not start: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * `tabs` pages of one browser context (one origin, so they share Web Locks and BroadcastChannels) each send
 * `perTab` requests at once. The access token the tabs hold was already revoked by the server (the client cannot
 * know: it has no `expiresAt`), so the burst meets 401s and must refresh: ideally once for all tabs.
 */
export async function browserTabs(
  mode: string,
  tabs: number,
  perTab = BROWSER_REQUESTS_PER_TAB,
): Promise<SharingResult | SharingSkip> {
  const started = await launch();
  if ('why' in started) return { mode, skipped: started.why };
  const { browser } = started;
  let api: TokenApi | undefined;
  try {
    const bundle = await buildPageBundle();
    api = await startTokenApi({
      '/': {
        type: 'text/html',
        body: '<!doctype html><meta charset="utf-8"><title>tabs</title><script src="/bundle.js"></script>',
      },
      '/bundle.js': { type: 'text/javascript', body: bundle },
    });
    const context = await browser.newContext();
    const name = `bench-${process.pid}`;
    const pages: Page[] = [];
    for (let index = 0; index < tabs; index += 1) {
      const page = await context.newPage();
      await page.goto(`${api.url}/`, { timeout: READY_TIMEOUT_MS });
      const config: TabConfig = {
        client: `tab-${index}`,
        name,
        storage: 'memory',
        refreshTimeoutMs: REFRESH_TIMEOUT_MS,
      };
      await page.evaluate((c) => (globalThis as unknown as { tokenTest: TokenTest }).tokenTest.start(c), config);
      pages.push(page);
    }
    // One tab logs in; every tab must hold the tokens before the burst, as in the other modes.
    await pages[0]!.evaluate((tokens) => (globalThis as unknown as { tokenTest: TokenTest }).tokenTest.login(tokens), {
      ...INITIAL,
    });
    await allTabsHold(pages, INITIAL.accessToken);

    const start = now();
    const results = await withDeadline(
      `a burst of ${tabs} × ${perTab} requests`,
      BURST_TIMEOUT_MS,
      Promise.all(
        pages.map((page) =>
          page.evaluate((n) => (globalThis as unknown as { tokenTest: TokenTest }).tokenTest.burst(n), perTab),
        ),
      ),
    );
    const wallMs = elapsedUs(start) / 1000;
    // A refresh a tab might still send after its requests settled would count against it: give it a moment.
    await sleep(100);
    const requests = tabs * perTab;
    const ok = results.reduce((sum, result) => sum + result.ok, 0);
    return {
      mode,
      contexts: tabs,
      requests,
      failed: requests - ok,
      refreshCalls: api.refreshRequests.length,
      spentPresented: api.refreshRequests.filter((request) => request.outcome === 'reused').length,
      revoked: api.revoked(),
      wallMs,
    };
  } finally {
    await browser.close();
    await api?.close();
  }
}

/** Waits until every tab holds `accessToken` (the others learn the login through the store's announcement). */
async function allTabsHold(pages: readonly Page[], accessToken: string): Promise<void> {
  const giveUpAt = Date.now() + READY_TIMEOUT_MS;
  for (const [index, page] of pages.entries()) {
    // page.evaluate runs the function in the page, so it names the page's global instead of a helper of this module.
    while (
      (await page.evaluate(() => (globalThis as unknown as { tokenTest: TokenTest }).tokenTest.state())).accessToken !==
      accessToken
    ) {
      if (Date.now() > giveUpAt)
        throw new Error(`browser tabs: tab ${index} did not receive the login within ${READY_TIMEOUT_MS} ms`);
      await sleep(10);
    }
  }
}
