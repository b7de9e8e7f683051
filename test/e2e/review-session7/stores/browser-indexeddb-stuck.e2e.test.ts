// Session 7 review (r2). Finding: indexedDbStorage() caches its IDBDatabase connection for good and handles neither `versionchange` nor
// `close`. (1) Two logins whose storages share a database with different object stores (docs/api.md: "the object
// store is created on first use"): the second needs a version upgrade, which the first tab's open connection blocks
// forever, so the second store never reads or writes. (2) Site data cleared while tabs run (DevTools "Clear site
// data", CDP Storage.clearDataForOrigin): the browser force-closes the connection and every later storage call throws
// InvalidStateError; the store fails with STORE_FAILED until the tab is reloaded, so the tab can never refresh again.
import { afterEach, expect, it } from 'vitest';
import { INITIAL } from '../../support/token-api.js';
import { harness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('two indexedDbStorage() object stores in one database, used from two tabs: the second login works', async () => {
  h = await harness();
  const a = await h.open({
    client: 'A',
    name: 'api',
    storage: 'indexedDB',
    idb: { database: 'my-app', objectStore: 'api' },
    refreshTimeoutMs: 1000,
  });
  await a.evaluate((t) => globalThis.r2.login(t), { ...INITIAL });
  const b = await h.open({
    client: 'B',
    name: 'files',
    storage: 'indexedDB',
    idb: { database: 'my-app', objectStore: 'files' },
    refreshTimeoutMs: 1000,
  });
  const login = await b.evaluate(
    async (t) => {
      try {
        await globalThis.r2.login(t);
        return 'ok';
      } catch (error) {
        return String((error as Error).message);
      }
    },
    { accessToken: 'files-access', refreshToken: 'files-refresh' },
  );
  expect(login).toBe('ok');
});

it('site data cleared while the tab runs (IndexedDB): the tab refreshes again afterwards instead of failing for good', async () => {
  h = await harness();
  const a = await h.open({ client: 'A', name: 'cleared', storage: 'indexedDB', refreshTimeoutMs: 1000 });
  await a.evaluate((t) => globalThis.r2.login(t), { ...INITIAL });
  expect(await a.evaluate(() => globalThis.r2.get('/api/1'))).toBe('200'); // refresh-0 -> refresh-1, stored

  const cdp = await h.context.newCDPSession(a);
  await cdp.send('Storage.clearDataForOrigin', { origin: h.api.url, storageTypes: 'indexeddb' });

  // The user logs in again (the stored login is gone); the access token then expires.
  const login = await a.evaluate(
    async (t) => {
      try {
        await globalThis.r2.login(t);
        return 'ok';
      } catch (error) {
        const { message, cause } = error as Error & { cause?: unknown };
        return `${message} (cause: ${String(cause)})`;
      }
    },
    { accessToken: 'access-1', refreshToken: 'refresh-1' },
  );
  h.api.expireAccess();
  const status = await a.evaluate(() => globalThis.r2.get('/api/2'));
  expect({ login, status }).toEqual({ login: 'ok', status: '200' });
});

// Session 10: CI failed on the test above twice (the CDP call can answer before the browser is done clearing). While
// the browser clears, every connection opened is closed too: three quick tries all failed, and a request's `error`
// event rejected with `transaction.error`, which is still null then, so the closed connection was not recognised.
it('site data cleared while the tab logs in (IndexedDB): every login succeeds', async () => {
  h = await harness();
  const a = await h.open({ client: 'A', name: 'clearing', storage: 'indexedDB', refreshTimeoutMs: 5000 });
  const cdp = await h.context.newCDPSession(a);
  const outcomes: Record<string, number> = {};
  for (let round = 0; round < 40; round += 1) {
    await a.evaluate((t) => globalThis.r2.login(t), { ...INITIAL });
    const clearing = cdp.send('Storage.clearDataForOrigin', { origin: h.api.url, storageTypes: 'indexeddb' });
    const login = await a.evaluate(
      async (t) => {
        try {
          await globalThis.r2.login(t);
          return 'ok';
        } catch (error) {
          const { message, cause } = error as Error & { cause?: unknown };
          return `${message} (cause: ${String(cause)})`;
        }
      },
      { accessToken: `access-${round}`, refreshToken: `refresh-${round}` },
    );
    await clearing;
    outcomes[login] = (outcomes[login] ?? 0) + 1;
  }
  expect(outcomes).toEqual({ ok: 40 });
});
