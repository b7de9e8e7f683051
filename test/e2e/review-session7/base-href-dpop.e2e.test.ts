/**
 * Finding: in a browser, a DPoP proof's `htu` is resolved against `location.href`, but XHR/fetch resolve a relative
 * request URL against the document's base URL, which `<base href>` moves (Angular apps ship `<base href="/">`). The
 * proof then names another URL than the one requested, and an API that checks `htu` (RFC 9449 §4.3) refuses every
 * request with invalid_dpop_proof. scope.ts already resolves against `document.baseURI`; dpop.ts does not.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';

let browser: Browser;
let server: ReturnType<typeof createServer>;
let origin = '';
const seen: Array<{ requested: string; htu: unknown }> = [];

beforeAll(async () => {
  const { build } = await import('esbuild');
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./browser/dpop-entry.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const script = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/dashboard/reports/42') {
      // A deep link of a single-page app whose assets and API calls are relative to <base href="/">.
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><base href="/"><meta charset="utf-8"><script src="/app.js"></script>');
      return;
    }
    if (path === '/app.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
      return;
    }
    const proof = req.headers['dpop'];
    const htu =
      typeof proof === 'string'
        ? (JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString('utf8')) as { htu?: unknown }).htu
        : undefined;
    const requested = `${origin}${path}`;
    seen.push({ requested, htu });
    // An API that checks htu, as RFC 9449 §4.3 step 9 requires.
    res.writeHead(htu === requested ? 200 : 401, {
      ...(htu === requested ? {} : { 'WWW-Authenticate': 'DPoP error="invalid_dpop_proof"' }),
    });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('DPoP htu under <base href>', () => {
  it('signs the URL the browser really requests for a relative URL on a page with <base href="/">', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/dashboard/reports/42`);
    const status = await page.evaluate(
      (url) => (globalThis as unknown as { baseHrefTest: { run(u: string): Promise<number> } }).baseHrefTest.run(url),
      'api/items',
    );
    await context.close();
    const last = seen.at(-1);
    expect(last?.requested).toBe(`${origin}/api/items`); // where XHR sent it: resolved against <base href="/">
    expect(last?.htu).toBe(last?.requested); // fails: htu is `${origin}/dashboard/reports/api/items`
    expect(status).toBe(200);
  });
});
