/**
 * Break-it review (split-review3) of the move to the current Web Locks (f986777).
 *
 * `close()` removes `#frame` and releases the presence locks in `#leaving`, but a move under way has not set
 * `#frame` yet (it waits for the refresh lock in the new Web Locks, held here by another tab) and pushes its new
 * presence release after the close: once the bridge is granted, the closed store keeps its hidden iframe in the
 * page and holds a presence lock in the new Web Locks for good (until the page goes).
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a store closed while it moves leaves no iframe and no lock behind', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 3000, storage: 'memory' as const };
  const old = await h.session({ ...config, client: 'old' });
  expect(
    (await old.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  const cdp = await h.context.newCDPSession(old);
  await cdp.send('Storage.clearDataForOrigin', { origin: h.server.url, storageTypes: 'all' });
  // A new tab holds the refresh lock for 1.5 s (a refresh of its own), then its store starts: the old tab moves, and
  // waits for that lock.
  const fresh = await h.page();
  await fresh.evaluate(() => {
    void navigator.locks.request('axios-token-refresh:app', () => new Promise((resolve) => setTimeout(resolve, 1500)));
  });
  await fresh.evaluate((c) => globalThis.f.start(c), { ...config, client: 'new' });
  await sleep(300);
  // The app tears down (a route change, hot reload) while the old tab moves.
  await old.evaluate(() => globalThis.f.close('app'));
  await sleep(2000);

  // Seen: 1 iframe left in the old tab, and the new Web Locks hold the closed store's presence lock
  // (`axios-token-refresh:app:tab:<old id>`) besides the new tab's.
  expect(await old.evaluate(() => document.querySelectorAll('iframe').length)).toBe(0);
  const held = await fresh.evaluate(async () => (await navigator.locks.query()).held?.map((lock) => lock.name) ?? []);
  expect(held.filter((name) => name?.startsWith('axios-token-refresh:app:tab:'))).toHaveLength(1);
});
