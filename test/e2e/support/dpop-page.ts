import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startOidcDpop, type OidcDpopHarness } from '../../support/oidc-dpop.js';
import { CHROMIUM, launchChromium } from './chromium.js';
import { buildPageBundle } from './page-bundle.js';

/** The DPoP authorization server serving a test page, and the Chromium that opens it. */
export interface DpopPage {
  readonly oidc: OidcDpopHarness;
  readonly browser: Browser;
  close(): Promise<void>;
}

/**
 * Starts the DPoP authorization server (access tokens live 2 s) with a page at `path` running the bundled `entry`
 * (under test/e2e/browser/), and Chromium. The page is served by the authorization server itself: the token endpoint
 * is same-origin, the API is CORS.
 *
 * @param entry - the page script, e.g. `dpop-entry.ts`.
 * @param path - where the page is served, e.g. `/app` (its script at `<path>.js`).
 */
export async function startDpopPage(entry: string, path: string): Promise<DpopPage> {
  if (!existsSync(CHROMIUM))
    throw new Error(`The browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing`);
  const script = await buildPageBundle(entry);
  const oidc = await startOidcDpop({
    accessTokenTtlSeconds: 2,
    pages: {
      [path]: {
        type: 'text/html',
        body: `<!doctype html><meta charset="utf-8"><title>dpop</title><script src="${path}.js"></script>`,
      },
      [`${path}.js`]: { type: 'text/javascript', body: script },
    },
  });
  const browser = await launchChromium();
  return {
    oidc,
    browser,
    async close() {
      await browser.close();
      await oidc.close();
    },
  };
}
