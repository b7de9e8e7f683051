/**
 * Break-it review of b849db3. After `Clear-Site-Data: "storage"`, an old tab and a new tab no longer share Web Locks.
 * The old tab only steps out if IT pings the new tab and gets an answer within 1 s; the new tab, which also finds the
 * old one invisible, never tells it. Every tab is checked once, whatever the outcome: a new tab that is busy for more
 * than a second just after its store starts (a heavy page hydrating) is never checked again, and both tabs go on
 * refreshing with one refresh token.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('Clear-Site-Data, then a new tab that is busy for 3 s as it starts: old and new tabs never present one refresh token twice', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000, storage: 'memory' as const };
  const old = await h.session({ ...config, client: 'old' });
  expect(
    (await old.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  const logoutTab = await h.page();
  await logoutTab.goto(`${h.server.url}/logout`);
  expect(h.server.logouts()).toBe(1);
  const grant = h.server.newGrant();

  // A new tab: its store starts (and says hello), then the page does 3 s of work before it reads any message.
  const fresh = await h.page();
  await fresh.evaluate(
    (c) => {
      // The long task starts as the hello goes out (in a real page: rendering, hydrating, parsing a large bundle).
      const post = BroadcastChannel.prototype.postMessage;
      BroadcastChannel.prototype.postMessage = function postMessage(this: BroadcastChannel, message: unknown) {
        post.call(this, message);
        if ((message as { type?: string }).type === 'hello') {
          const end = Date.now() + 3000;
          while (Date.now() < end);
        }
      };
      globalThis.f.start(c);
    },
    { ...config, client: 'new' },
  );
  const login = await fresh.evaluate((t) => globalThis.f.login(t), grant);
  expect(login.error).toBeUndefined();
  await sleep(2500); // every check has had its time
  expect(await fresh.evaluate(() => globalThis.f.request('/api/1'))).toBe('200');

  h.server.expireAccess();
  h.server.setRefreshDelay(300);
  await Promise.all([
    old.evaluate(() => globalThis.f.request('/api/old')),
    fresh.evaluate(() => globalThis.f.request('/api/new')),
  ]);
  // Before the fix: the old tab's ping timed out (the new tab was busy), the new tab found the old one invisible too
  // but, being the newer, did nothing; neither checks again. Both held "the" refresh lock and presented g2-refresh-1:
  // the server revoked the new login.
  expect(h.server.revoked()).toBe(false);
  expect(h.server.presented.map((p) => `${p.refreshToken} ${p.outcome}`)).toEqual([
    'g2-refresh-0 rotated',
    'g2-refresh-1 rotated',
  ]);
});
