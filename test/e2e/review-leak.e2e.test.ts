/**
 * Review: where tokens and secrets go, in Chromium. The docs promise that the grants never follow a redirect ("the
 * credentials only ever go to `tokenUrl`", "Discovery never follows a redirect", "Redirects are not followed" for
 * revocation) and that a redirect to another origin drops the token and the DPoP proof. In a browser the XHR adapter
 * (axios's default there) follows every redirect itself. Two origins on 127.0.0.1: the page's own (the authorization
 * server and the API) and another one that records what reaches it.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LeakUrls, ReviewLeak } from './browser/review-leak-entry.js';
import { CHROMIUM, launchChromium } from './support/chromium.js';
import { buildPageBundle } from './support/page-bundle.js';

declare global {
  var reviewLeak: ReviewLeak;
}

interface Arrival {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

let browser: Browser;
let page: Page;
let own: Server;
let other: Server;
let urls: LeakUrls;
/** Every request that reached the other origin. */
const elsewhere: Arrival[] = [];

const read = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => resolve(body));
  });

const listen = async (handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) => {
  const server = createServer((req, res) => void read(req).then((body) => handler(req, res, body)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};
const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`The browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing`);
  const script = await buildPageBundle('review-leak-entry.ts');
  // The other origin: answers everything, CORS wide open (as an attacker's server would be).
  other = await listen((req, res, body) => {
    const cors = {
      'Access-Control-Allow-Origin': String(req.headers.origin ?? '*'),
      'Access-Control-Allow-Headers': String(req.headers['access-control-request-headers'] ?? '*'),
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    elsewhere.push({ method: req.method, url: req.url, headers: { ...req.headers }, body });
    res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
    if (req.url === '/metadata') {
      // A look-alike document: the issuer is the page's own, the token endpoint is here.
      res.end(JSON.stringify({ issuer: urls.own, token_endpoint: `${origin(other)}/token` }));
      return;
    }
    res.end(JSON.stringify({ access_token: 'at-evil', token_type: 'Bearer', expires_in: 300 }));
  });
  own = await listen((req, res) => {
    const to = (path: string, status = 307) => res.writeHead(status, { Location: `${origin(other)}${path}` }).end();
    switch (req.url) {
      case '/app':
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<!doctype html><meta charset="utf-8"><title>leak</title><script src="/app.js"></script>');
        return;
      case '/app.js':
        res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
        return;
      case '/token-307':
        return to('/steal', 307);
      case '/token-308':
        return to('/steal', 308);
      case '/revoke-redirect':
        return to('/steal-revoke', 307);
      case '/.well-known/oauth-authorization-server':
        return to('/metadata', 302);
      case '/items-redirect':
        return to('/collect', 307);
      default:
        res.writeHead(404).end();
    }
  });
  urls = { own: origin(own), other: origin(other) };
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${urls.own}/app`);
});

afterEach(() => {
  elsewhere.length = 0;
});

afterAll(async () => {
  await browser?.close();
  for (const server of [own, other]) {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
});

const received = () => JSON.stringify(elsewhere);

describe.each(['xhr', 'fetch'] as const)('Chromium, %s adapter: the grants never follow a redirect', (adapter) => {
  it.each(['/token-307', '/token-308'])(
    'a token endpoint answering %s: the refresh token never reaches the other origin',
    async (path) => {
      await page.evaluate(([u, p, a]) => globalThis.reviewLeak.refresh(u, p, a), [urls, path, adapter] as const);
      expect(received()).not.toContain('rt-browser-secret-1');
    },
  );

  it.each(['/token-307', '/token-308'])(
    'a token endpoint answering %s: the refresh fails with CONFIGURATION_ERROR naming the redirect (docs/oauth2.md), not "HTTP 0"',
    async (path) => {
      const outcome = await page.evaluate(([u, p, a]) => globalThis.reviewLeak.refresh(u, p, a), [
        urls,
        path,
        adapter,
      ] as const);
      expect(outcome).toMatch(/^error CONFIGURATION_ERROR .*redirect/);
    },
  );

  it('discovery whose metadata location redirects: the refresh token never reaches the other origin', async () => {
    const outcome = await page.evaluate(([u, a]) => globalThis.reviewLeak.discovered(u, a), [urls, adapter] as const);
    expect(received()).not.toContain('rt-browser-secret-2');
    expect(elsewhere.map((arrival) => arrival.url)).not.toContain('/metadata');
    expect(outcome).toMatch(/^error CONFIGURATION_ERROR/);
  });

  it('revocation whose endpoint redirects: neither token reaches the other origin', async () => {
    await page.evaluate(([u, a]) => globalThis.reviewLeak.revoke(u, a), [urls, adapter] as const);
    expect(received()).not.toContain('rt-browser-secret-3');
    expect(received()).not.toContain('at-browser-3');
  });
});

describe.each(['xhr', 'fetch'] as const)(
  'Chromium, %s adapter: DPoP-bound requests redirected to another origin',
  (adapter) => {
    it('carry no token there, and the proof names the first URL (docs/dpop.md: the browser drops the token)', async () => {
      await page.evaluate(([u, a]) => globalThis.reviewLeak.dpopRequest(u, '/items-redirect', a), [
        urls,
        adapter,
      ] as const);
      const arrivals = elsewhere.filter((arrival) => arrival.url === '/collect');
      expect(arrivals.map((arrival) => arrival.headers['authorization'])).toEqual(arrivals.map(() => undefined));
      expect(arrivals).toHaveLength(1);
      expect(received()).not.toContain('at-dpop-browser');
      const proof = String(arrivals[0]?.headers['dpop']).split('.')[1] ?? '';
      expect(JSON.parse(Buffer.from(proof, 'base64url').toString()).htu).toBe(`${urls.own}/items-redirect`);
    });
  },
);

describe('Chromium without fetch (XHR is the last resort: jsdom, old WebViews)', () => {
  it('a metadata location that redirects: XHR follows it, but the answer from elsewhere is not taken, so the refresh token never goes there', async () => {
    const bare = await browser.newPage();
    try {
      await bare.addInitScript(() => {
        delete (globalThis as { fetch?: unknown }).fetch;
      });
      await bare.goto(`${urls.own}/app`);
      const outcome = await bare.evaluate(([u]) => globalThis.reviewLeak.discovered(u, 'xhr'), [urls] as const);
      // XHR went to the look-alike metadata (nothing stops it), and no further.
      expect(elsewhere.map((arrival) => arrival.url)).toEqual(['/metadata']);
      expect(received()).not.toContain('rt-browser-secret-2');
      expect(outcome).toMatch(/^error CONFIGURATION_ERROR .*redirect/);
    } finally {
      await bare.close();
    }
  });
});
