/**
 * Session 7, review of the fixes (r1).
 * The "rotated refresh token in a refused answer" salvage commits the new refresh token without the write-back: when
 * the store's write fails right then (the same Redis blip the write-back was added for), the session lets the lock go
 * at once while the store still holds the spent refresh token, and the next session presents it again.
 */
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../../src/index.js';
import type { TokenSet } from '../../../src/index.js';
import { flakyStore } from '../../support/flaky-store.js';

describe('a rotated refresh token kept from a refused answer, whose store write fails', () => {
  it('is written again under the lock: the other session never presents the spent one', async () => {
    const { store, inner, setDown } = flakyStore();
    await inner.write({ accessToken: 'a0', refreshToken: 'r0' }, 0);
    const presented: (string | undefined)[] = [];
    let serial = 0;
    const refresh = async (current: TokenSet): Promise<TokenSet> => {
      presented.push(current.refreshToken);
      serial += 1;
      if (serial === 1) {
        setDown(true); // the store fails right after the server rotated r0
        // rotated, but refused (expiresAt in Unix seconds): the salvage keeps r1
        return { accessToken: 'a1', refreshToken: 'r1', expiresAt: 1_900_000_000 };
      }
      return { accessToken: `a${serial}`, refreshToken: `r${serial}` };
    };
    const one = createTokenSession({ store, refresh });
    const two = createTokenSession({ store, refresh });
    one.on('refreshError', () => undefined);
    two.on('refreshError', () => undefined);

    await expect(one.refresh()).rejects.toMatchObject({ code: 'INVALID_TOKEN_RESPONSE' });
    expect(one.getTokens()?.refreshToken).toBe('r1'); // kept in memory only

    setTimeout(() => setDown(false), 300); // the store is back a moment later, as in the write-back's own test
    await two.refresh();
    // Before the fix: two took the lock at once, read r0 (spent) and presented it: ['r0', 'r0']. Now one holds the
    // lock until r1 is written, and two adopts it (another session's refresh) instead of refreshing.
    expect(presented).toEqual(['r0']);
    expect(two.getTokens()?.refreshToken).toBe('r1');
  });
});
