/**
 * Break-it review (split-review2) of the first split check, which made the tab opened earlier "step out" (logged out,
 * "reload the page"): an app that keeps its own copy of the tokens in `onTokens` was never told. The step-out is gone:
 * a tab left with a cleared bucket's Web Locks now moves to the current ones and keeps its login. What the app sees
 * after "Clear site data" and a new tab without a login: nothing at all.
 */
import { afterEach, expect, it } from 'vitest';
import { sleep, type Harness } from './support/harness.js';
import { harness2 } from './support/harness2.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('"Clear site data", then a new tab: the old tab keeps its login, and the app is not told of any change', async () => {
  h = await harness2();
  const old = await h.page();
  await old.evaluate(() => globalThis.f2.start('app'));
  await old.evaluate(() => globalThis.f2.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }));
  const cdp = await h.context.newCDPSession(old);
  await cdp.send('Storage.clearDataForOrigin', { origin: h.server.url, storageTypes: 'all' });
  const fresh = await h.page();
  await fresh.evaluate(() => globalThis.f2.start('app'));
  await sleep(1500);
  // A login in the old tab is taken, as before the clear (the first check made it step out: refused until a reload).
  const login = await old.evaluate(() =>
    globalThis.f2.login({ accessToken: 'access-1', refreshToken: 'refresh-1' }).then(
      () => 'ok',
      (error: Error) => error.message,
    ),
  );
  const onTokens = await old.evaluate(() => globalThis.f2.onTokens());
  const events = await old.evaluate(() => globalThis.f2.events());
  expect({ login, onTokens, nullTokens: events.includes('tokens null') }).toEqual({
    login: 'ok',
    onTokens: ['refresh-0', 'refresh-1'],
    nullTokens: false,
  });
});
