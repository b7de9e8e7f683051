/**
 * Break-it review (split-review2) of the presence-lock split check (b849db3, 680e6c3).
 *
 * A tab that steps out does so at once, whatever it is doing: a refresh it has in flight (the server has already
 * rotated the refresh token) ends with `write` refusing the answer, so the new refresh token is thrown away. The newer
 * tab read the storage just before and holds the refresh token that refresh spent: its next refresh presents it
 * again, and a reuse-detecting server revokes the login. No logout is involved: DevTools "Clear site data" (here CDP
 * Storage.clearDataForOrigin 'all', which splits Web Locks the same way) while the app keeps running.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('"Clear site data", then a new tab opens while the old tab refreshes: no refresh token is presented twice', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000, storage: 'idb' as const };
  const old = await h.session({ ...config, client: 'old' });
  expect(
    (await old.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  // DevTools "Clear site data": the tab keeps its tokens in memory and goes on; its next refresh stores them again.
  const cdp = await h.context.newCDPSession(old);
  await cdp.send('Storage.clearDataForOrigin', { origin: h.server.url, storageTypes: 'all' });
  h.server.expireAccess();
  expect(await old.evaluate(() => globalThis.f.request('/api/1'))).toBe('200'); // refresh-0 -> refresh-1, stored

  // The access token expires again; the old tab refreshes (the token endpoint takes 1.5 s) and meanwhile the user
  // opens a second tab, which reads refresh-1 from IndexedDB.
  h.server.expireAccess();
  h.server.setRefreshDelay(1500);
  const oldRequest = old.evaluate(() => globalThis.f.request('/api/2'));
  await sleep(300);
  const fresh = await h.session({ ...config, client: 'new' });
  const oldStatus = await oldRequest;
  h.server.setRefreshDelay(0);
  await sleep(1500);
  const freshStatus = await fresh.evaluate(() => globalThis.f.request('/api/3'));

  // Seen: the old tab stepped out mid-refresh; the server had rotated refresh-1 into refresh-2, which the old tab's
  // write refused (its request ends "LOGGED_OUT"). The new tab then presented refresh-1 again: reuse, grant revoked,
  // the new tab's request ends SESSION_EXPIRED.
  expect(h.server.presented.map((p) => `${p.refreshToken} ${p.client} ${p.outcome}`)).not.toContainEqual(
    expect.stringMatching(/reused$/),
  );
  expect(h.server.revoked()).toBe(false);
  expect({ oldStatus, freshStatus }).toMatchObject({ freshStatus: '200' });
});
