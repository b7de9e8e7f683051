/**
 * Session 7, review of the fixes (r1).
 * The salvage of a rotated refresh token from a refused answer covers only an answer that came in time. A late answer
 * (after refreshTimeoutMs: `#lateAnswer`) that is refused the same way (`expiresAt` in Unix seconds, the CHANGELOG's own
 * example) is thrown away whole, new refresh token included: the session keeps the refresh token the server just
 * rotated, and the next refresh presents it again.
 */
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../../src/index.js';
import type { TokenSet } from '../../../src/index.js';

describe('a late answer that is refused but carries a rotated refresh token', () => {
  it('keeps the new refresh token, as an answer in time would', async () => {
    const presented: (string | undefined)[] = [];
    let calls = 0;
    const session = createTokenSession({
      tokens: { accessToken: 'at-0', refreshToken: 'rt-0' },
      refreshTimeoutMs: 100,
      refresh: async (current): Promise<TokenSet> => {
        presented.push(current.refreshToken);
        calls += 1;
        if (calls === 1) {
          await new Promise((resolve) => setTimeout(resolve, 200)); // a slow vendor: answers after the timeout
          return { accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: 1_900_000_000 }; // seconds: refused
        }
        return { accessToken: `at-${calls}`, refreshToken: `rt-${calls}` };
      },
    });
    session.on('refreshError', () => undefined);
    await expect(session.refresh()).rejects.toMatchObject({ code: 'REFRESH_TIMEOUT' });
    await new Promise((resolve) => setTimeout(resolve, 250)); // the late answer has come
    await session.refresh();
    // What happens: ['rt-0', 'rt-0'].
    expect(presented).toEqual(['rt-0', 'rt-1']);
  });
});
