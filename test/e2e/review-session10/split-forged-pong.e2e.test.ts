/**
 * Break-it review (split-review2) of the presence-lock split check (b849db3, 680e6c3). Low severity: a same-origin
 * script can already read the channel's tokens. But nothing was cleared here and every real tab shares Web Locks; a
 * script that says `hello` with a made-up tab id and a late `since`, and answers the ping, logs every open tab out of
 * the login (each steps out: "reload the page"), and every tab opened later again, with one message per tab.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a forged hello + pong (no clear, no lock of its own) does not make a tab step out', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000, storage: 'memory' as const };
  const main = await h.session({ ...config, client: 'main' });
  expect(
    (await main.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  const other = await h.page();
  await other.evaluate(() => {
    const channel = new BroadcastChannel('axios-token-refresh:app');
    const me = { from: 'forged', since: Number.MAX_VALUE };
    channel.onmessage = (event: MessageEvent<{ type?: string; to?: string; from?: string }>) => {
      if (event.data.type === 'ping' && event.data.to === 'forged') {
        channel.postMessage({ type: 'pong', to: event.data.from, ...me });
      }
    };
    channel.postMessage({ type: 'hello', ...me });
  });
  await sleep(1500);
  expect(await main.evaluate(() => globalThis.f.errors())).toEqual([]);
  expect(await main.evaluate(() => globalThis.f.tokens().refreshToken)).toBe('refresh-0');
});
