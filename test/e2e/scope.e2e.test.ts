import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BEARER, catalogue, type SentRow } from '../support/scope-catalogue.js';
import { checkArrivals, startLoopbackServers, type LoopbackServers } from '../support/scope-servers.js';
import type { ScopeTest } from './browser/scope-entry.js';
import { CHROMIUM, launchChromium } from './support/chromium.js';
import { buildPageBundle } from './support/page-bundle.js';

declare global {
  var scopeTest: ScopeTest;
}

let browser: Browser;
let page: Page;
let servers: LoopbackServers;

const rows = (kind: 'sent' | 'parsed') => {
  const all = catalogue({ allowedPort: 1, evilPort: 2 });
  return all.map((row, index) => [row.name, index] as const).filter(([, index]) => all[index]!.kind === kind);
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing: install it with \`apt-get install chromium\`.`,
    );
  }
  const bundle = await buildPageBundle('scope-entry.ts');
  servers = await startLoopbackServers({
    '/app/': {
      type: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>scope</title><script src="/bundle.js"></script>',
    },
    '/bundle.js': { type: 'text/javascript', body: bundle },
    '/favicon.ico': { type: 'image/x-icon', body: '' },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  // The page is on the allowed origin; `*.localhost` is loopback to Chromium.
  await page.goto(`http://api.localhost:${servers.allowedPort}/app/`);
});

afterEach(() => {
  servers.arrivals.length = 0;
});

afterAll(async () => {
  await browser?.close();
  await servers?.close();
});

const ports = () => ({ allowedPort: servers.allowedPort, evilPort: servers.evilPort });

describe.each(['xhr', 'fetch'] as const)(
  'attachRefresh(instance, options) in Chromium, %s adapter: the token goes only where the request really goes',
  (adapter) => {
    it.each(rows('sent'))(
      '%s: the token arrives only at the allowed origin, and no 401 from elsewhere refreshes',
      async (_name, index) => {
        const row = catalogue(servers)[index] as SentRow;
        const outcome = await page.evaluate(([i, p, a]) => globalThis.scopeTest.run(i, p, a), [
          index,
          ports(),
          adapter,
        ] as const);
        checkArrivals(servers.arrivals, servers, row.page);
        expect(outcome.refreshes).toBe(0);
      },
    );

    it.each(rows('parsed'))('%s: the token goes to the URL’s origin only when it is allowed', async (_name, index) => {
      const row = catalogue(servers)[index]!;
      const outcome = await page.evaluate(([i, p, a]) => globalThis.scopeTest.run(i, p, a), [
        index,
        ports(),
        adapter,
      ] as const);
      expect(outcome.authorization).toBe(row.kind === 'parsed' && row.token ? BEARER : undefined);
    });
  },
);
