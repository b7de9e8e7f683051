/**
 * Found (s8 review 2, MEDIUM-LOW): a client-credentials session (needsRefreshToken: false) that logged out and then
 * minted a token whose store write failed takes ITS OWN logout record, still in the store at the version it holds, for
 * "a logout written at our version after a reset" (`#otherLogin`: null tokens with `ended` at our version while we hold
 * tokens). Its next refresh adopts that logout and rejects with LOGGED_OUT: the request that needed the refresh fails,
 * and the good token it holds is dropped. Nobody logged out since; docs/login.md: the session "gets a token on the
 * first request", "a 5xx, a network error or a timeout is REFRESH_FAILED, and the next request tries again".
 *
 * `#otherLogin` says "no failed write of ours leaves one [a logout] at our version while we hold tokens". A mint from
 * no tokens does: it starts at the logout's version, and a failed write keeps the minted token at that version.
 *
 * Sequence (a shared store whose writes fail for longer than refreshTimeoutMs, e.g. a Redis failover; reads work):
 *   mint a1 (version 1); logout() -> { null, 2, 'logout' }; store writes start failing;
 *   getAccessToken() mints a2: the write fails, a2 is used at version 2 (STORE_FAILED reported); the write-back gives
 *   up; the store is back.
 *   refresh() (an expiry, a 401): under the lock it reads { null, 2, logout }: `#otherLogin` -> `#adoptReset` adopts
 *   the logout -> `#adoptedEnd` throws LOGGED_OUT.
 * Expected: a3 is minted (the refresh goes on, as it does for a record it wrote itself).
 */
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { flakyStore } from '../support/flaky-store.js';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('client credentials: a token minted after a logout whose store write failed', () => {
  it('the next refresh mints again; it does not adopt the old logout as a new one (LOGGED_OUT)', async () => {
    const { store, inner, setDown } = flakyStore();
    let minted = 0;
    const refresh = Object.assign(
      async (): Promise<TokenSet> => ({ accessToken: `a${(minted += 1)}`, expiresAt: Date.now() + 3_600_000 }),
      { needsRefreshToken: false }, // as clientCredentialsGrant sets
    );
    const session = createTokenSession({ store, refresh, refreshTimeoutMs: 200 });
    const errors: string[] = [];
    session.on('refreshError', (error) => errors.push(error.code));
    expect(await session.getAccessToken()).toBe('a1');
    await session.logout();
    expect((await inner.read()).tokens).toBeNull();

    setDown(true);
    expect(await session.getAccessToken()).toBe('a2'); // minted; its write failed
    expect(errors).toContain('STORE_FAILED');
    await sleep(500); // the write-back gave up
    setDown(false);

    const outcome = await session.refresh().then(
      (tokens) => tokens.accessToken,
      (error: { code?: string }) => `rejected: ${error.code}`,
    );
    // Observed: 'rejected: LOGGED_OUT', and getTokens() null.
    expect(outcome).toBe('a3');
    expect(session.getTokens()?.accessToken).toBe('a3');
    await session.close();
  });
});
