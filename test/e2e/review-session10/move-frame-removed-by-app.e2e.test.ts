/**
 * Break-it review (split-review3) of the move to the current Web Locks (f986777).
 *
 * A tab that moved uses the Web Locks of a hidden iframe appended to `document.documentElement`. Anything that
 * replaces the children of `<html>` (a framework that renders the whole document and rebuilds it, e.g. a React root
 * on `document` switching to client rendering; `document.documentElement.replaceChildren(…)`/`innerHTML`) removes that
 * iframe: the browser frees every lock the tab held there (its presence lock, its version lock, a refresh lock), and
 * its LockManager refuses every later request. The tab is not moved again (seen: a third tab opened later does not
 * trigger a new move, no iframe comes back), so until a reload every refresh in it fails ("the refresh function threw a value of type object"), and the login it
 * handed over is gone from the new Web Locks: a new tab never learns of it.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('"Clear site data", the old tab moves, then the app rebuilds <html>: both tabs still refresh', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 3000, storage: 'idb' as const };
  const old = await h.session({ ...config, client: 'old' });
  expect(
    (await old.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  const cdp = await h.context.newCDPSession(old);
  await cdp.send('Storage.clearDataForOrigin', { origin: h.server.url, storageTypes: 'all' });
  const fresh = await h.session({ ...config, client: 'new' });
  await sleep(800);
  expect(await old.evaluate(() => document.querySelectorAll('iframe').length)).toBe(1); // moved
  // The app rebuilds the document's top-level children (here the same <head> and <body>).
  await old.evaluate(() => document.documentElement.replaceChildren(document.head, document.body));

  h.server.expireAccess();
  const statuses = {
    old: await old.evaluate(() => globalThis.f.request('/api/1')),
    fresh: await fresh.evaluate(() => globalThis.f.request('/api/2')),
  };
  // Seen: { old: 'REFRESH_FAILED: Token refresh failed: the refresh function threw a value of type object', fresh:
  // '401' } (the new tab has no tokens: nobody holds a version in its Web Locks any more), and the old tab fails the
  // same way on every later refresh.
  expect(statuses).toEqual({ old: '200', fresh: '200' });
});
