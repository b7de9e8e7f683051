/**
 * Break-it review of b849db3. The app is open in a tab; the user then visits another site that embeds the app in an
 * iframe (a widget, a checkout, a support chat). Nothing was cleared. In this Chromium the embedded app's Web Locks
 * are denied ("SecurityError: The request was denied", third-party storage), so its store holds no presence lock,
 * yet its BroadcastChannel reaches the app's tab and it says hello and answers pings. The tab opened earlier takes it
 * for a tab of a cleared site and steps out: the user is logged out of the app for nothing.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('another site embedding the app in an iframe does not log the app tab out', async () => {
  h = await harness();
  const config = { name: 'app', refreshTimeoutMs: 5000, storage: 'memory' as const };
  const main = await h.session({ ...config, client: 'main' });
  expect(
    (await main.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);

  // Another site (localhost is another site than 127.0.0.1) embeds the app.
  const embedder = await h.context.newPage();
  const port = new URL(h.server.url).port;
  await embedder.goto(`http://localhost:${port}/embed?src=${encodeURIComponent(`${h.server.url}/`)}`);
  const embedded = () => embedder.frames().find((frame) => frame.url().startsWith(h!.server.url));
  for (let i = 0; i < 50 && embedded() === undefined; i += 1) await sleep(100);
  const frame = embedded()!;
  await frame.waitForFunction(() => globalThis.f !== undefined);
  await frame.evaluate((c) => globalThis.f.start(c), { ...config, client: 'frame' });
  // The embedded app's Web Locks are denied here, but its channel reaches the app's tab.
  expect(String(await frame.evaluate(() => navigator.locks.query().then(() => 'ok', String)))).toMatch(/SecurityError/);
  await sleep(2000);

  expect(await main.evaluate(() => globalThis.f.errors())).toEqual([]);
  expect(await main.evaluate(() => globalThis.f.tokens().refreshToken)).toBe('refresh-0');
  expect(await main.evaluate(() => globalThis.f.request('/api/1'))).toBe('200');
});
