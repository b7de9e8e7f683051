/**
 * idb-review (break-it) of 1a9f737. When the new tries run out (the browser keeps closing every connection the store
 * opens for longer than the ~1.5 s of pauses), the call fails with the browser's raw DOMException, which the store
 * wraps as `STORE_FAILED: Reading tokens from the storage of \`axios-token-refresh:x\` failed`: the message says neither
 * IndexedDB, nor which database, nor that its connection kept being closed (it was tried 8 times), nor what to do;
 * that is only in `cause`. browser.ts's own comment says indexedDbStorage's errors "say what to do" (the blocked
 * upgrade's do). No token is in it (that part holds).
 *
 * Chromium clears a site's data in milliseconds here, so the clearing that outlasts the tries is simulated: every
 * `IDBDatabase.transaction()` throws what Chromium throws on a connection it closed (InvalidStateError, "The database
 * connection is closing.").
 */
import { afterEach, expect, it } from 'vitest';
import { harness, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('the tries run out: the error names IndexedDB, the database and the closed connection, and holds no token', async () => {
  h = await harness();
  const page = await h.session({ client: 'A', name: 'app', refreshTimeoutMs: 10_000 });
  expect(
    (await page.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }))).ok,
  ).toBe(true);
  await page.evaluate(() => {
    IDBDatabase.prototype.transaction = () => {
      throw new DOMException(
        "Failed to execute 'transaction' on 'IDBDatabase': The database connection is closing.",
        'InvalidStateError',
      );
    };
  });
  const outcome = await page.evaluate(() =>
    globalThis.f.login({ accessToken: 'secret-access', refreshToken: 'secret-refresh' }),
  );
  expect(outcome.ok).toBe(false);
  // `error` is the error's code and message, then each cause's (" <- ").
  const login = { all: String(outcome.error), message: String(outcome.error).split(' <- ')[0], ms: outcome.ms };
  expect(login.all).not.toMatch(/secret|access-0|refresh-0/);
  expect(login.ms).toBeGreaterThan(1400); // the tries were made
  // What happens: "STORE_FAILED: Reading tokens from the storage of `axios-token-refresh:app` failed".
  expect(login.message).toMatch(/IndexedDB/);
  expect(login.message).toMatch(/axios-token-refresh`/); // the database's name
  expect(login.message).toMatch(/clos/);
});
