/**
 * Final review (break-it) of indexedDbStorage's 3-try object-store upgrade loop. Six stores of one app (say six APIs,
 * each login in its own object store of one database: docs/api.md, "created on first use") log in at the same moment.
 * Each upgrade that loses the race tries again from the newer version, but only 3 times: with 6 at once the last two
 * run out ("Adding the object store `e` ... failed 3 times: other upgrades of it came first each time") although every
 * other upgrade succeeded, i.e. the database made progress on every try. (At f485779 the same two fail too, with
 * NotFoundError: not a regression of this session, but the new loop does not cover it.) Suggested fix: keep trying
 * while the database's version went up since the last try (someone else's upgrade succeeded), not a fixed 3 times.
 */
import { afterEach, expect, it } from 'vitest';
import { libHarness, type LibHarness } from './support/lib-harness.js';

let h: LibHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('six object stores of one database, first used at the same moment: every write succeeds', async () => {
  h = await libHarness();
  const page = await h.page();
  const outcomes = await page.evaluate(async () => {
    const results: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      const writes = await Promise.all(
        ['a', 'b', 'c', 'd', 'e', 'f'].map(async (objectStore) => {
          const storage = globalThis.lib.indexedDbStorage({ database: `db-${round}`, objectStore, key: 'k' });
          try {
            await storage.set(`value-${objectStore}`);
            return 'ok';
          } catch (error) {
            return String((error as Error).message);
          }
        }),
      );
      results.push(...writes);
    }
    return results;
  });
  // What happens (every run in Chromium): 'e' and 'f' fail in each round, "failed 3 times: other upgrades of it came
  // first each time".
  expect(outcomes).toEqual(Array(18).fill('ok'));
});
