/**
 * review-session6: attacks on this session's two fixes, with real processes: the grants' requests in Chromium (fetch
 * adapter with `redirect: 'manual'` instead of XHR) and the session's refusal of an older backup (`#spent`) against a
 * redis-server of the test's own. Every test states what a user relies on; each fails on the current code.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createRedisTokenStore } from '../../src/redis.js';
import type { SharedTokenStore } from '../../src/store.js';
import type { ReviewSession6 } from './browser/review-session6-entry.js';
import { CHROMIUM, launchChromium } from './support/chromium.js';
import { buildPageBundle } from './support/page-bundle.js';
import { startOwnRedis } from './support/redis-faults.js';
import { INITIAL, refreshAt, startTokenApi, statusOf } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';

declare global {
  var reviewSession6: ReviewSession6;
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
});

function client(url: string): Redis {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  cleanups.push(() => redis.disconnect());
  return redis;
}

/** A service of the fleet: an instance on the token API with attachRefresh, a custom refresh and the Redis store. */
function attachToApi(api: TokenApi, store: SharedTokenStore, refresh = refreshAt(api)) {
  const instance = axios.create({ baseURL: api.url });
  const attached = attachRefresh(instance, {
    store,
    refreshTimeoutMs: 3000,
    refresh,
  });
  cleanups.push(() => attached.close());
  return { instance, attached };
}

describe('an older Redis backup put back (docs/stores.md: "never adopted ... writes its own tokens back over it")', () => {
  // Finding (HIGH): the operator's RESTORE lands while a refresh is in flight. The token server has already spent
  // refresh-1 and issued refresh-2; the session's compare-and-set write of refresh-2 (expected version 2) meets the
  // backup's version 1 and fails; #commit -> #catchUp reads version 1, which #adoptFromElsewhere ignores (below ours).
  // refresh-2 is thrown away: the session keeps access-1/refresh-1. The replayed request gets 401 with access-1, the
  // session refreshes again: the backup's refresh-0 is refused as spent and refresh-1 is "written back" and presented
  // a second time. The server detects the reuse and revokes the grant: the request fails with SESSION_EXPIRED and
  // every process is logged out.
  it('a backup restored while a refresh is in flight: the new tokens are kept, no spent refresh token is presented', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.dispose());
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const admin = client(redis.url);
    const key = `review-session6-inflight-${randomUUID()}`;
    const tokensKey = `axios-token-refresh:${key}:tokens`;
    const seeder = createRedisTokenStore({ redis: client(redis.url), key });
    await seeder.write(INITIAL, 0);
    await seeder.close();
    const backup = await admin.dumpBuffer(tokensKey); // version 1: access-0 / refresh-0

    const store = createRedisTokenStore({ redis: client(redis.url), key });
    cleanups.push(() => store.close());
    // The second refresh is held after the token server answered until the backup is restored: the RESTORE lands
    // while it is in flight (a fixed 300 ms into an 800 ms answer assumed the request had reached the server by then).
    const toServer = refreshAt(api);
    let calls = 0;
    let inFlight!: () => void;
    const refreshing = new Promise<void>((resolve) => (inFlight = resolve));
    let restored!: () => void;
    const backInPlace = new Promise<void>((resolve) => (restored = resolve));
    const { instance } = attachToApi(api, store, async (current, context) => {
      calls += 1;
      if (calls === 1) return toServer(current, context);
      inFlight();
      const [tokens] = await Promise.all([toServer(current, context), backInPlace]);
      return tokens;
    });
    expect(await statusOf(instance, '/api/first')).toBe(200); // refresh-0 -> refresh-1, Redis at version 2

    api.expireAccess();
    const during = statusOf(instance, '/api/during');
    await refreshing; // the refresh of refresh-1 is on its way to the server
    await admin.restore(tokensKey, 0, backup, 'REPLACE');
    restored();
    const duringStatus = await during;
    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([
      ['refresh-0', 'rotated'],
      ['refresh-1', 'rotated'],
    ]);
    expect(duringStatus).toBe(200);

    api.expireAccess();
    const after = await statusOf(instance, '/api/after');
    expect(api.refreshRequests.filter((r) => r.outcome !== 'rotated')).toEqual([]);
    expect(api.revoked()).toBe(false);
    expect(after).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Chromium: the grants now always go through axios's fetch adapter.
// ---------------------------------------------------------------------------------------------------------------------

let browser: Browser | undefined;
let own: Server | undefined;
let ownUrl = '';
const tokenArrivals: { cookie: string | undefined }[] = [];

const read = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => resolve(body));
  });

describe('Chromium: the grants through the fetch adapter', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`The browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing`);
    const script = await buildPageBundle('review-session6-entry.ts');
    own = createServer(
      (req: IncomingMessage, res: ServerResponse) =>
        void read(req).then(() => {
          if (req.url === '/app') {
            // The page's origin sits behind a gateway that admits requests carrying its session cookie (an SSO proxy,
            // an identity-aware proxy in front of an internal app and its own token endpoint).
            res.writeHead(200, {
              'Content-Type': 'text/html',
              'Set-Cookie': 'gateway=admitted; Path=/; HttpOnly; SameSite=Strict',
            });
            res.end('<!doctype html><meta charset="utf-8"><title>s6</title><script src="/app.js"></script>');
            return;
          }
          if (req.url === '/app.js') {
            res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
            return;
          }
          if (req.url === '/token') {
            tokenArrivals.push({ cookie: req.headers.cookie });
            if (!String(req.headers.cookie ?? '').includes('gateway=admitted')) {
              res.writeHead(403, { 'Content-Type': 'text/plain' }).end('gateway: no session');
              return;
            }
            res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
            res.end(
              JSON.stringify({ access_token: 'at-2', refresh_token: 'rt-2', token_type: 'Bearer', expires_in: 300 }),
            );
            return;
          }
          res.writeHead(404).end();
        }),
    );
    await new Promise<void>((resolve) => own?.listen(0, '127.0.0.1', resolve));
    ownUrl = `http://127.0.0.1:${(own.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    own?.closeAllConnections();
    await new Promise<void>((resolve) => (own ? own.close(() => resolve()) : resolve()));
  });

  // Finding (MEDIUM, a regression): where there is XHR but no fetch (jsdom, which Jest's and many apps' tests run
  // in; older WebViews), axios's browser default worked; now the adapter list is ['http', 'fetch'] with XHR removed,
  // neither is available, and every grant fails. Nothing in README/docs says the grants need `fetch`.
  it('a page without fetch (XHR only): the refresh still works, or fails naming what is missing', async () => {
    const page = await browser!.newPage();
    cleanups.push(() => page.close());
    await page.addInitScript(() => {
      delete (globalThis as { fetch?: unknown }).fetch;
    });
    await page.goto(`${ownUrl}/app`);
    const outcome = await page.evaluate((u) => globalThis.reviewSession6.refresh(u, false), ownUrl);
    expect(outcome).toMatch(/^ok /);
  });
});
