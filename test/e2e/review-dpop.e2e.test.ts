import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OidcDpopHarness } from '../support/oidc-dpop.js';
import type { ReviewDpop, ReviewTabConfig } from './browser/review-dpop-entry.js';
import { startDpopPage, type DpopPage } from './support/dpop-page.js';

declare global {
  var reviewDpop: ReviewDpop;
}

let browser: Browser;
let oidc: OidcDpopHarness;
let context: BrowserContext | undefined;
let runs = 0;

let rig: DpopPage | undefined;

beforeAll(async () => {
  rig = await startDpopPage('review-dpop-entry.ts', '/review');
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

function tabConfig(): ReviewTabConfig {
  return {
    name: `review-dpop-${process.pid}-${(runs += 1)}`,
    tokenUrl: oidc.tokenUrl,
    apiUrl: oidc.apiUrl,
    clientId: oidc.clients.public.clientId,
  };
}

async function open(config: ReviewTabConfig): Promise<{ page: Page; thumbprint: string }> {
  const page = await context!.newPage();
  await page.goto(`${oidc.issuer}/review`);
  const thumbprint = await page.evaluate((c) => globalThis.reviewDpop.start(c), config);
  return { page, thumbprint };
}

describe('DPoP in Chromium: review', () => {
  it('refuses a stored value that is not a key pair, and leaves it in place', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${oidc.issuer}/review`);
    const { error, stillThere } = await page.evaluate(
      (name) => globalThis.reviewDpop.storedNonKey(name),
      tabConfig().name,
    );
    expect(error).toMatch(/not a DPoP key pair/);
    expect(stillThere).toEqual({ privateKey: 'not a key' });
  });

  it('after a logout with deleteDpopKey and a new login in one tab, another open tab signs with the new key, and does not end the new login', async () => {
    context = await browser.newContext();
    const config = tabConfig();
    const a = await open(config);
    const b = await open(config);
    expect(b.thumbprint).toBe(a.thumbprint);
    await a.page.evaluate((tokens) => globalThis.reviewDpop.login(tokens), await oidc.login('public', a.thumbprint));
    expect(await b.page.evaluate(() => globalThis.reviewDpop.burst(2))).toEqual({ ok: 2, failures: [] });

    // docs/dpop.md: "On logout, deleteDpopKey(name) drops the key so that the next login gets a new one."
    await a.page.evaluate((name) => globalThis.reviewDpop.logout(name), config.name);
    const second = await a.page.evaluate((c) => globalThis.reviewDpop.start(c), config);
    expect(second).not.toBe(a.thumbprint);
    const login = await oidc.login('public', second);
    await a.page.evaluate((tokens) => globalThis.reviewDpop.login(tokens), login);
    await sleep(300);

    // Tab B was never reloaded. Whatever it does, the user's new login must survive it.
    const fromB = await b.page.evaluate(() => globalThis.reviewDpop.burst(2));
    const fromA = await a.page.evaluate(() => globalThis.reviewDpop.burst(2));
    expect({ fromA, fromB, revoked: oidc.stats.revokedGrants.includes(login.grantId) }).toEqual({
      fromA: { ok: 2, failures: [] },
      fromB: { ok: 2, failures: [] },
      revoked: false,
    });
  });
});
