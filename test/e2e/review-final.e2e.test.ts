/**
 * review-final (review4): the grants' transport in a real Chromium. Each test states what a user relies on and fails
 * on the current code.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReviewFinal } from './browser/review-final-entry.js';
import { CHROMIUM, launchChromium } from './support/chromium.js';
import { buildPageBundle } from './support/page-bundle.js';

declare global {
  var reviewFinal: ReviewFinal;
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
});

let browser: Browser | undefined;
let own: Server | undefined;
let ownUrl = '';
const tokenArrivals: string[] = [];

describe('Chromium: grants through XHR (no fetch) with the app instance', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`The browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing`);
    const script = await buildPageBundle('review-final-entry.ts');
    own = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/app') {
          res.writeHead(200, { 'Content-Type': 'text/html' });
          res.end('<!doctype html><meta charset="utf-8"><title>rf</title><script src="/app.js"></script>');
          return;
        }
        if (req.url === '/app.js') {
          res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
          return;
        }
        if (req.url?.startsWith('/token')) {
          tokenArrivals.push(req.url);
          res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
          res.end(
            JSON.stringify({ access_token: 'at-2', refresh_token: 'rt-2', token_type: 'Bearer', expires_in: 300 }),
          );
          return;
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => own?.listen(0, '127.0.0.1', resolve));
    ownUrl = `http://127.0.0.1:${(own.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    own?.closeAllConnections();
    await new Promise<void>((resolve) => (own ? own.close(() => resolve()) : resolve()));
  });

  // Finding: send() compares XHR's responseURL with the URL it was given. An interceptor of the app's instance (the
  // grant's documented `axios` option) that adds a query parameter makes responseURL `/token?locale=en`, so a
  // same-URL 200 with tokens is read as "a redirect" (status 0): CONFIGURATION_ERROR "set tokenUrl to the final URL",
  // after the server already rotated the refresh token (the new tokens are thrown away: the login is lost where the
  // server detects reuse). No redirect happened. The same refresh works where fetch exists.
  it('a page without fetch: a same-URL answer through an instance with a params interceptor is taken, not called a redirect', async () => {
    const page = await browser!.newPage();
    cleanups.push(() => page.close());
    await page.addInitScript(() => {
      delete (globalThis as { fetch?: unknown }).fetch;
    });
    await page.goto(`${ownUrl}/app`);
    const outcome = await page.evaluate((u) => globalThis.reviewFinal.refreshWithParamInterceptor(u), ownUrl);
    expect(tokenArrivals).toContain('/token?locale=en'); // the server answered (and rotated) at the very URL asked
    expect(outcome).toMatch(/^ok .*at-2/);
  });

  it('the same refresh with fetch present works (control)', async () => {
    const page = await browser!.newPage();
    cleanups.push(() => page.close());
    await page.goto(`${ownUrl}/app`);
    const outcome = await page.evaluate((u) => globalThis.reviewFinal.refreshWithParamInterceptor(u), ownUrl);
    expect(outcome).toMatch(/^ok .*at-2/);
  });
});
