/**
 * idb-review (break-it) of 1a9f737. NOT caused by that commit (1a9f737^ fails the same way), but it is the scenario the
 * commit is about: a logout page that answers `Clear-Site-Data: "storage"` (DevTools "Clear site data" and CDP
 * Storage.clearDataForOrigin 'all' do the same). Chromium then deletes the origin's storage bucket, and Web Locks are
 * kept per bucket: a tab opened after the clear no longer sees the locks of the tabs opened before it (an exclusive
 * lock held by an old tab is granted to a new one), while BroadcastChannel and IndexedDB still connect them. The user
 * logs out, logs in again in a new tab; the old tabs adopt that login through the channel. When the access token
 * expires, an old tab and the new one each take "the" refresh lock and present the same refresh token: with reuse
 * detection the server revokes the new login in every tab. (A tab opened after the clear also never catches up with
 * tokens only the old tabs hold: it cannot see their version locks.)
 */
import { afterEach, expect, it } from 'vitest';
import { harness, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('logout page with Clear-Site-Data, then a login in a new tab: old and new tabs never present one refresh token twice', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000 };
  const old = await h.session({ ...config, client: 'old' });
  const first = await old.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }));
  expect(first.ok).toBe(true);
  // The user logs out through the server's logout page, which ends the grant and clears the site's storage. The old
  // tab stays open.
  const logoutTab = await h.page();
  await logoutTab.goto(`${h.server.url}/logout`);
  expect(h.server.logouts()).toBe(1);
  const grant = h.server.newGrant();

  // The user logs in again, in a new tab, which soon refreshes. The old tab moves to the new tab's Web Locks and takes
  // its login.
  const fresh = await h.session({ ...config, client: 'new' });
  expect((await fresh.evaluate((t) => globalThis.f.login(t), grant)).ok).toBe(true);
  expect(await fresh.evaluate(() => globalThis.f.request('/api/1'))).toBe('200');
  await old.waitForFunction(() => globalThis.f.tokens().refreshToken === 'g2-refresh-1', undefined, { timeout: 5000 });

  // The access token expires; both tabs call the API at once (the token endpoint takes 300 ms).
  h.server.expireAccess();
  h.server.setRefreshDelay(300);
  const statuses = await Promise.all([
    old.evaluate(() => globalThis.f.request('/api/old')),
    fresh.evaluate(() => globalThis.f.request('/api/new')),
  ]);
  // Before: both tabs held "the" refresh lock at once and presented g2-refresh-1 (rotated, then reused); the server
  // revoked the grant and both requests ended 401.
  expect(h.server.presented.map((p) => `${p.refreshToken} ${p.outcome}`)).toEqual([
    'g2-refresh-0 rotated',
    'g2-refresh-1 rotated',
  ]);
  expect(statuses).toEqual(['200', '200']);
  expect(await old.evaluate(() => globalThis.f.errors())).toEqual([]);
});

it('a tab that announces a login and closes at once (a login popup) does not move or log out the other tabs', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000 };
  const main = await h.session({ ...config, client: 'main' });
  expect(
    (await main.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  for (let round = 1; round <= 3; round += 1) {
    // The main tab is busy meanwhile (a long task): it reads the popup's messages only after the popup closed, when
    // its presence lock is gone.
    const busy = main.evaluate(() => {
      const end = Date.now() + 1500;
      while (Date.now() < end);
    });
    const popup = await h.session({ ...config, client: `popup-${round}` });
    const login = { accessToken: `popup-access-${round}`, refreshToken: `popup-refresh-${round}` };
    await popup.evaluate((t) => globalThis.f.login(t), login);
    await popup.close();
    await busy;
    await main.waitForFunction((r) => globalThis.f.tokens().refreshToken === r, login.refreshToken, { timeout: 5000 });
  }
  await main.waitForTimeout(1500); // longer than a tab has to answer a ping
  expect(await main.evaluate(() => globalThis.f.errors())).toEqual([]);
  expect(await main.evaluate(() => globalThis.f.tokens().refreshToken)).toBe('popup-refresh-3');
});
