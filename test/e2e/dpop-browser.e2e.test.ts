import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OidcDpopHarness } from '../support/oidc-dpop.js';
import type { DpopTabConfig, DpopTest } from './browser/dpop-entry.js';
import { startDpopPage, type DpopPage } from './support/dpop-page.js';

declare global {
  var dpopTest: DpopTest;
}

const TABS = 4;
const REQUESTS_EACH = 8;

let browser: Browser;
let oidc: OidcDpopHarness;
let context: BrowserContext | undefined;
let runs = 0;

let rig: DpopPage | undefined;

beforeAll(async () => {
  rig = await startDpopPage('dpop-entry.ts', '/app');
  ({ oidc, browser } = rig);
});

afterEach(async () => {
  await context?.close();
  context = undefined;
});

afterAll(async () => {
  await rig?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function tabConfig(): DpopTabConfig {
  return {
    name: `dpop-e2e-${(runs += 1)}`,
    tokenUrl: oidc.tokenUrl,
    apiUrl: oidc.apiUrl,
    clientId: oidc.clients.public.clientId,
  };
}

async function open(config: DpopTabConfig): Promise<{ page: Page; thumbprint: string }> {
  const page = await context!.newPage();
  await page.goto(`${oidc.issuer}/app`);
  const thumbprint = await page.evaluate((c) => globalThis.dpopTest.start(c), config);
  return { page, thumbprint };
}

/** Waits until the access token the page holds is past its expiry (so the next burst must refresh). */
async function pastExpiry(page: Page): Promise<void> {
  const expiresAt = await page.evaluate(() => globalThis.dpopTest.expiresAt());
  await sleep((expiresAt ?? Date.now()) + 150 - Date.now());
}

const burst = (page: Page) => page.evaluate((n) => globalThis.dpopTest.burst(n), REQUESTS_EACH);

describe('DPoP in Chromium (key persisted in IndexedDB)', () => {
  it('keeps the private key non-extractable, and after a reload signs with the same key: the refresh works without a new login', async () => {
    context = await browser.newContext();
    const config = tabConfig();
    const first = await open(config);
    expect(await first.page.evaluate(() => globalThis.dpopTest.keyExport())).toEqual({
      extractable: false,
      exported: false,
    });
    const login = await oidc.login('public', first.thumbprint);
    await first.page.evaluate((tokens) => globalThis.dpopTest.login(tokens), login);
    expect(await burst(first.page)).toEqual({ ok: REQUESTS_EACH, failures: [] });

    await first.page.reload();
    const refreshes = oidc.stats.refreshes;
    const thumbprint = await first.page.evaluate((c) => globalThis.dpopTest.start(c), config);
    expect(thumbprint).toBe(first.thumbprint);
    // The reloaded page reads its tokens from IndexedDB on its first request: wait for the login's own expiry.
    await sleep(login.expiresAt + 150 - Date.now());
    // The public client's refresh token is bound to the key: only the same key can refresh it.
    expect(await burst(first.page)).toEqual({ ok: REQUESTS_EACH, failures: [] });
    expect(oidc.stats.refreshes - refreshes).toBe(1);
    expect(oidc.spentRefreshTokensPresented()).toEqual([]);
  });

  it(`creates one key for ${TABS} tabs that start at once, and they make one refresh per expiry between them`, async () => {
    context = await browser.newContext();
    const config = tabConfig();
    const tabs = await Promise.all(Array.from({ length: TABS }, () => open(config)));
    const thumbprints = new Set(tabs.map((tab) => tab.thumbprint));
    expect(thumbprints.size).toBe(1);
    const login = await oidc.login('public', tabs[0]!.thumbprint);
    await tabs[0]!.page.evaluate((tokens) => globalThis.dpopTest.login(tokens), login);
    const refreshes = oidc.stats.refreshes;
    for (let expiry = 1; expiry <= 2; expiry += 1) {
      await pastExpiry(tabs[0]!.page);
      const results = await Promise.all(tabs.map((tab) => burst(tab.page)));
      expect(results).toEqual(Array(TABS).fill({ ok: REQUESTS_EACH, failures: [] }));
      expect(oidc.stats.refreshes - refreshes).toBe(expiry);
    }
    expect(oidc.spentRefreshTokensPresented()).toEqual([]);
    expect([...oidc.stats.acceptedKeys]).toContain(tabs[0]!.thumbprint);
  });
});

describe('DPoP in Chromium with an app interceptor that runs after the plugin’s and moves the request', () => {
  // s9: the proof was made in the plugin's interceptor, before the app's moved the URL (htu of the old one) or, in
  // the first-registered-first order, before the token was attached (no proof); both refused by the API.
  for (const legacyOrder of [true, false]) {
    for (const adapter of ['fetch', 'xhr'] as const) {
      it(`signs what goes out (legacyInterceptorReqResOrdering: ${legacyOrder}, adapter: ${adapter})`, async () => {
        context = await browser.newContext();
        const { page, thumbprint } = await open({ ...tabConfig(), app: { legacyOrder, adapter } });
        const login = await oidc.login('public', thumbprint);
        await page.evaluate((tokens) => globalThis.dpopTest.login(tokens), login);
        const moved = () => page.evaluate((n) => globalThis.dpopTest.burst(n, '/legacy'), REQUESTS_EACH);
        expect(await moved()).toEqual({ ok: REQUESTS_EACH, failures: [] });
        const refreshes = oidc.stats.refreshes;
        await pastExpiry(page);
        expect(await moved()).toEqual({ ok: REQUESTS_EACH, failures: [] });
        expect(oidc.stats.refreshes - refreshes).toBe(1);
        expect(oidc.spentRefreshTokensPresented()).toEqual([]);
      });
    }
  }
});
