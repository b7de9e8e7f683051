/**
 * idb-review (break-it) of 1a9f737, indexedDbStorage's retry. Before it, a call that failed on its connection was made
 * again on a new one whatever the error; now only AbortError / InvalidStateError / UnknownError are. Two logins that keep
 * their tokens in one database, each in its own object store (docs/api.md: "the object store is created on first
 * use"), whose first calls come at the same moment: both see the database without their object store, and both ask
 * for version n+1. The first upgrade adds its store; the second open of version n+1 then succeeds without an upgrade,
 * on a database that lacks the second object store, and `db.transaction()` throws NotFoundError. That is no longer
 * tried again: the login fails with STORE_FAILED (every time, in Chromium). At 1a9f737^ both logins succeed.
 */
import { afterEach, expect, it } from 'vitest';
import { harness, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('two logins, each in its own object store of one database, logging in at the same moment: both succeed', async () => {
  h = await harness();
  const page = await h.page();
  const outcomes = await page.evaluate(async () => {
    const results: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      const database = `my-app-${round}`;
      // The app's own data in the same database, written earlier (the connection is closed).
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.open(database, 1);
        request.onupgradeneeded = () => request.result.createObjectStore('app');
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
      });
      for (const name of ['api', 'files']) {
        globalThis.f.start({
          client: name,
          name: `${name}-${round}`,
          idb: { database, objectStore: name },
          refreshTimeoutMs: 5000,
        });
      }
      const logins = await Promise.all(
        ['api', 'files'].map((name) =>
          globalThis.f.login({ accessToken: `${name}-access`, refreshToken: `${name}-refresh` }, `${name}-${round}`),
        ),
      );
      results.push(...logins.map((login) => (login.ok ? 'ok' : String(login.error))));
    }
    return results;
  });
  // What happens: every second login fails with "STORE_FAILED: Reading tokens from the storage of
  // `axios-token-refresh:files-0` failed <- NotFoundError: Failed to execute 'transaction' on 'IDBDatabase': One of the
  // specified object stores was not found."
  expect(outcomes).toEqual(Array(10).fill('ok'));
});
