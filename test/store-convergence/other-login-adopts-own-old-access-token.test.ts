/**
 * Found (s8 hostile review of e6bfe51, MEDIUM-LOW): with access-only tokens (client credentials), two refreshes whose
 * store writes failed make the session take the token the store still holds, its OWN token from two refreshes ago,
 * for "another login" (`#otherLogin`), and adopt it: `refresh()` resolves with that old token, and it is what requests
 * carry from then on.
 *
 * Sequence (the store's writes fail for longer than `refreshTimeoutMs`, e.g. a Redis failover; reads work):
 *   store holds { a0, version 1 }; session holds a0 at 1.
 *   refresh #1 mints a1; its write fails: a1 is used at version 1 (`#replaced` = a0); the write-back gives up.
 *   refresh #2: the record { a0, 1 } is "ours, replaced" (a0 === #replaced.accessToken): fine. It mints a2; the write
 *     fails: a2 at version 1, and `#replaced` = a1 now.
 *   refresh #3 (the store is back): under the lock it reads { a0, 1 }: at our version, no refresh token, access token
 *     neither ours (a2) nor `#replaced` (a1), so `#otherLogin` says "a login after a reset" and `#adoptReset` adopts
 *     a0. No token is minted; `refresh()` resolves with a0.
 * `#otherLogin` remembers one replaced access token, where `#isBackup` remembers 16 refresh tokens: the access-only
 * branch forgets after the second failed write.
 */
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { flakyStore } from '../support/flaky-store.js';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('access-only tokens after two refreshes whose store write failed', () => {
  it('a refresh mints a new token; it never adopts the token two refreshes back as "another login"', async () => {
    const { store, inner, setDown } = flakyStore();
    inner.write({ accessToken: 'a0', expiresAt: Date.now() + 3_600_000 }, 0);
    let minted = 0;
    const refresh = Object.assign(
      async (): Promise<TokenSet> => ({ accessToken: `a${(minted += 1)}`, expiresAt: Date.now() + 3_600_000 }),
      { needsRefreshToken: false }, // as clientCredentialsGrant sets
    );
    const session = createTokenSession({ store, refresh, refreshTimeoutMs: 200 });
    const seen: (string | undefined)[] = [];
    session.on('tokens', (tokens) => seen.push(tokens?.accessToken));
    session.on('refreshError', () => undefined); // the STORE_FAILED of the failed writes
    expect(await session.getAccessToken()).toBe('a0');

    setDown(true);
    expect((await session.refresh()).accessToken).toBe('a1');
    await sleep(400); // the write-back gave up
    expect((await session.refresh()).accessToken).toBe('a2');
    await sleep(400);
    setDown(false);

    const third = await session.refresh();
    expect.soft(seen).not.toContain('a0');
    expect(third.accessToken).not.toBe('a0');
    expect(third.accessToken).toBe('a3');
    await session.close();
  });
});
