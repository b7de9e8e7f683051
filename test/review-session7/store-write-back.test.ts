/**
 * Session 7 review (h3, medium): when the store failed the write that follows a refresh (a Redis blip, a failover), the
 * session kept the rotated tokens in memory, reported STORE_FAILED and let the lock go at once. The store still held
 * the spent refresh token, so the next session to take the lock presented it again. Now the session keeps the lock
 * and writes again, backing off, for up to refreshTimeoutMs; its own requests go on with the new tokens meanwhile.
 * (The same against a real Redis: test/e2e/review-session7/redis-write-lost-after-refresh.e2e.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { flakyStore } from '../support/flaky-store.js';

describe('a store write that fails after a refresh', () => {
  it('is tried again under the lock: the other session adopts the new tokens and never presents the spent one', async () => {
    const { store, inner, setDown } = flakyStore();
    await inner.write({ accessToken: 'a0', refreshToken: 'r0' }, 0);
    const presented: (string | undefined)[] = [];
    let serial = 0;
    const refresh = async (current: TokenSet): Promise<TokenSet> => {
      presented.push(current.refreshToken);
      serial += 1;
      if (serial === 1) setDown(true); // the store fails right after the server rotated r0
      return { accessToken: `a${serial}`, refreshToken: `r${serial}` };
    };
    const one = createTokenSession({ store, refresh });
    const two = createTokenSession({ store, refresh });
    const errors: string[] = [];
    one.on('refreshError', (error) => errors.push(error.code));

    const started = Date.now();
    await one.refresh(); // its waiters go on with the new tokens at once
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(one.getTokens()?.refreshToken).toBe('r1');
    expect(errors).toEqual(['STORE_FAILED']);

    setTimeout(() => setDown(false), 300); // the store is back a moment later
    await two.refresh(); // waits for the lock, which `one` holds until its tokens are written
    expect(presented).toEqual(['r0']);
    expect(two.getTokens()?.refreshToken).toBe('r1');
    expect((await inner.read()).tokens?.refreshToken).toBe('r1');
  });

  it('a refresh the same session needs meanwhile ends the retries, takes the lock and writes its own tokens', async () => {
    const { store, inner, setDown } = flakyStore();
    await inner.write({ accessToken: 'a0', refreshToken: 'r0' }, 0);
    const presented: (string | undefined)[] = [];
    let serial = 0;
    const one = createTokenSession({
      store,
      refresh: async (current) => {
        presented.push(current.refreshToken);
        serial += 1;
        if (serial === 1) setDown(true);
        return { accessToken: `a${serial}`, refreshToken: `r${serial}` };
      },
    });
    one.on('refreshError', () => undefined);
    await one.refresh();
    await one.refresh(); // while the store is still down: from r1, the tokens in use (the store's are spent)
    setDown(false);
    await one.refresh();
    expect(presented).toEqual(['r0', 'r1', 'r2']);
    expect((await inner.read()).tokens?.refreshToken).toBe('r3');
  });
});
