/**
 * Break-it review of b849db3 (presence locks; the tab opened earlier "steps out" after the site's data was cleared).
 * No clear-site-data here: every tab is in one storage bucket and shares Web Locks. A tab that cannot be seen is
 * taken for a tab of a newer bucket, although the docs offer ways for a tab to hold no presence lock at all.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a newer tab whose store uses `locks: null` (the documented per-tab lock) does not log the older tabs out', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000 };
  const main = await h.session({ ...config, client: 'main' });
  expect(
    (await main.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  // Another page of the app (say a page that opts out of Web Locks, as docs/api.md allows) is opened later. Its store
  // holds no presence lock, but it says hello and answers pings.
  const other = await h.session({ ...config, client: 'other', locks: null });
  await sleep(2000);
  // Nothing was cleared: the main tab's user must still be logged in.
  expect(await main.evaluate(() => globalThis.f.errors())).toEqual([]);
  expect(await main.evaluate(() => globalThis.f.tokens().refreshToken)).toBe('refresh-0');
  expect(await main.evaluate(() => globalThis.f.request('/api/1'))).toBe('200');
  await other.close();
});
