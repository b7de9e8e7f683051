/**
 * Session 7, review r3 (break-it) of f704aea..HEAD (browser.ts `#mirror`), the consequence for refresh tokens. A tab that only
 * listens now takes the cross-tab write lock to copy each announced record into its storage; blocked by a dialog (or
 * a paused debugger, a long task) right then, it keeps that lock. Tab A's refresh spends r0 at the server but cannot
 * write r0's successor (the write lock never comes); its write-back gives up after refreshTimeoutMs and frees the
 * refresh lock. Tab B then takes the refresh lock, reads the storage (still r0, at the version every tab holds) and
 * presents r0 again: with reuse detection the whole login is revoked.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('no refresh token is presented twice while an idle tab shows a dialog', async () => {
  h = await harness();
  const config = { name: 'dialog2', storage: 'indexedDB' as const, refreshTimeoutMs: 1000 };
  const a = await h.open(config, true);
  const b = await h.open(config, true);
  const c = await h.open(config, true);
  await c.evaluate(() => {
    const seen = new Set<unknown>();
    setInterval(() => {
      const tokens = globalThis.r3.sessionTokens();
      if (tokens !== null && !seen.has(tokens.accessToken)) {
        seen.add(tokens.accessToken);
        setTimeout(() => alert('You signed in in another tab'), 0);
      }
    }, 0);
  });
  c.on('dialog', () => undefined); // the user has not answered it yet

  await a.evaluate(() => globalThis.r3.login({ accessToken: 'a0', refreshToken: 'r0' }));
  await b.waitForFunction(() => globalThis.r3.sessionTokens()?.refreshToken === 'r0');
  await sleep(500);

  expect(await a.evaluate(() => globalThis.r3.refresh())).toBe('r0+'); // A spends r0
  await sleep(1500); // A's write-back gives up (refreshTimeoutMs)
  await b.evaluate(() => globalThis.r3.refresh());

  const presented = [
    ...(await a.evaluate(() => globalThis.r3.presented())),
    ...(await b.evaluate(() => globalThis.r3.presented())),
  ];
  console.info({ presented, errorsA: await a.evaluate(() => globalThis.r3.errors()) });
  // What happens: ['r0', 'r0']: B presents the refresh token A spent.
  expect(presented.filter((token) => token === 'r0')).toHaveLength(1);
});
