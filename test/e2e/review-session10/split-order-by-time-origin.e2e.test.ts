/**
 * Break-it review (split-review2) of the presence-lock split check (b849db3, 680e6c3).
 *
 * The tab "opened earlier" (by `performance.timeOrigin`) steps out, on the assumption that it is the one left in the
 * old storage bucket. But Chromium binds a document to a bucket when the document first uses Web Locks, not when it
 * loads: a page loaded before the clear whose store starts after it (an app that creates its store on login, or
 * closes it on logout and creates another) is in the NEW bucket, with an older timeOrigin than the old-bucket tabs
 * opened after it. It steps out at once, and the login the user then makes in it fails; a tab still in the old
 * bucket keeps the (ended) login.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a page loaded before a clear that starts its store after it is not made to step out by a tab of the old bucket', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000, storage: 'memory' as const };
  // The user's tab: its app starts the store only once the user logs in.
  const main = await h.page();
  // Another tab of the app, opened later, logged in (its store started before the clear).
  const other = await h.session({ ...config, client: 'other' });
  expect(
    (await other.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  // The user logs out from the main tab (fetch answered with Clear-Site-Data: "storage"), then logs in again there.
  await main.evaluate(() => fetch('/logout'));
  const grant = h.server.newGrant();
  await main.evaluate((c) => globalThis.f.start(c), { ...config, client: 'main' });
  await sleep(1500);
  const login = await main.evaluate((t) => globalThis.f.login(t), grant);
  // Seen: the main tab's store (new bucket, older timeOrigin) stepped out on hearing the other tab (old bucket):
  // the login fails with STORE_FAILED "The site's data was cleared while this tab was open ... reload the page",
  // while the other tab, the one left in the old bucket, goes on.
  expect(login.error).toBeUndefined();
  expect(await main.evaluate(() => globalThis.f.request('/api/1'))).toBe('200');
});
