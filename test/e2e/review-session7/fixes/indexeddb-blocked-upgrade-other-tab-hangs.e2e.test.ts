/**
 * Session 7, review r4. b977e0d makes a blocked IndexedDB upgrade fail "every call at once while it stays queued, by name" — but
 * the `blocked` state lives in one `indexedDbStorage()` instance. The upgrade request that instance gave up on stays
 * queued in the browser, and every other connection request to that database (another tab of the same app, or a
 * second storage in the same tab) waits behind it without a bound: that tab's store hangs in `indexedDB.open` (while
 * holding the cross-tab write lock) until the session's own bound, then fails with a generic "did not answer" message
 * that names neither the problem nor the fix — and its cached open promise never settles, so every later call too.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a blocked upgrade fails quickly and by name in every tab, not only in the tab that asked for it', async () => {
  h = await harness();
  const config = {
    name: 'blocked',
    storage: 'indexedDB' as const,
    refreshTimeoutMs: 6000,
    idb: { database: 'my-app', objectStore: 'tokens' },
  };
  const app = await h.context.newPage();
  await app.goto(`${h.api.url}/`);
  // The app's own data in the same database, through a plain connection that ignores `versionchange`.
  await app.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const request = indexedDB.open('my-app', 1);
        request.onupgradeneeded = () => request.result.createObjectStore('app');
        request.onsuccess = () => {
          (globalThis as unknown as { appDb: IDBDatabase }).appDb = request.result;
          resolve();
        };
        request.onerror = () => reject(request.error);
      }),
  );
  const login = (page: typeof app, n: number) =>
    page.evaluate(async (i) => {
      const started = Date.now();
      try {
        await globalThis.r3.login({ accessToken: `a${i}`, refreshToken: `r${i}` });
        return { outcome: 'ok', ms: Date.now() - started };
      } catch (error) {
        const cause = (error as { cause?: Error }).cause;
        return { outcome: `${(error as Error).message} | ${cause?.message}`, ms: Date.now() - started };
      }
    }, n);
  const a = await h.open(config, true);
  const first = await login(a, 1);
  expect(first.outcome).toMatch(/is blocked by another open connection/);

  // A second tab of the same app, same options.
  const b = await h.open(config, true);
  const second = await login(b, 2);
  console.info({ first, second });
  // What happens: 'The token store did not answer a write within 6000 ms | undefined', after 6 s.
  expect(second.outcome).toMatch(/is blocked by another open connection/);
  // By name, well before the session's own bound (refreshTimeoutMs, 6 s here) would fail it with a generic message.
  expect(second.ms).toBeLessThan(5000);
});
