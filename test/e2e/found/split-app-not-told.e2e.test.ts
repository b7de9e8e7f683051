/**
 * Break-it review (split-review2) of the presence-lock split check (b849db3, 680e6c3): what the app learns when its
 * tab steps out. docs/sharing.md: "its session ends as logged out (the `tokens` event with null, `onTokens(null)`),
 * its store reports `STORE_FAILED` ("… reload the page") to `onError`".
 */
import { afterEach, expect, it } from 'vitest';
import { sleep, type Harness } from '../review-session10/support/harness.js';
import { harness2 } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a tab that steps out calls onTokens(null), and its refused requests say to reload the page', async () => {
  h = await harness2();
  const old = await h.page();
  await old.evaluate(() => globalThis.f2.start('app'));
  await old.evaluate(() => globalThis.f2.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }));
  const cdp = await h.context.newCDPSession(old);
  await cdp.send('Storage.clearDataForOrigin', { origin: h.server.url, storageTypes: 'all' });
  const fresh = await h.page();
  await fresh.evaluate(() => globalThis.f2.start('app'));
  await sleep(1500);
  // The tab stepped out: the `tokens` event with null came.
  expect(await old.evaluate(() => globalThis.f2.events())).toContain('tokens null');
  const request = await old.evaluate(() => globalThis.f2.request('/api/1'));
  const onTokens = await old.evaluate(() => globalThis.f2.onTokens());
  // Seen: onTokens was called only for the login (['refresh-0']), never with null, so an app that keeps its own copy
  // of the tokens there (as the docs' examples do) still has them and reloads with them; and the request is refused
  // with "SESSION_EXPIRED: Request refused: the session has ended; log in again" (a request waiting for a refresh at
  // that moment gets "LOGGED_OUT: ... the app logged out (in another tab or process)"), while a login in this tab
  // fails until it is reloaded. Only the store's onError (here left out: the console) says "reload the page".
  expect({ onTokens, request }).toEqual({
    onTokens: ['refresh-0', null],
    request: expect.stringMatching(/reload/) as unknown,
  });
});
