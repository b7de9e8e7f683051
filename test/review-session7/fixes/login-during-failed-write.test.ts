/**
 * Session 7, review of the fixes (r1).
 * A login (setTokens) made while the store write that ends a refresh is in flight and then fails: `#commit`'s catch
 * adopts the refreshed tokens of the previous login unconditionally, over the new login that was adopted meanwhile, and
 * hands them to `onTokens` after the login. The write-back then catches up with the store, so the session comes back
 * to the login in memory, but the app's own storage (onTokens) ends with the previous user's tokens, and requests sent
 * in between carry the previous user's access token.
 */
import { describe, expect, it } from 'vitest';
import { createTokenSession, MemoryTokenStore } from '../../../src/index.js';
import type { TokenSet, TokenStore } from '../../../src/index.js';

describe('a login during a refresh whose store write fails', () => {
  it('wins: the refreshed tokens of the old login are never adopted or persisted after it', async () => {
    const inner = new MemoryTokenStore();
    inner.write({ accessToken: 'alice-a0', refreshToken: 'alice-r0' }, 0);
    let failNext = false;
    let writing: (() => void) | undefined;
    const store: TokenStore = {
      read: async () => inner.read(),
      write: async (tokens, expectedVersion, ended) => {
        if (failNext) {
          failNext = false;
          writing?.();
          await new Promise((resolve) => setTimeout(resolve, 50)); // a connection reset, noticed a moment later
          throw new Error('ECONNRESET');
        }
        return inner.write(tokens, expectedVersion, ended);
      },
      withLock: (task, options) => inner.withLock(task, options),
    };
    const saved: (string | undefined)[] = [];
    const seen: (string | undefined)[] = [];
    const session = createTokenSession({
      store,
      refresh: async (): Promise<TokenSet> => {
        failNext = true; // the write of these tokens will fail
        return { accessToken: 'alice-a1', refreshToken: 'alice-r1' };
      },
      onTokens: (tokens) => {
        saved.push(tokens?.accessToken);
      },
    });
    session.on('tokens', (tokens) => seen.push(tokens?.accessToken));
    session.on('refreshError', () => undefined);
    await session.getAccessToken();

    const inWrite = new Promise<void>((resolve) => (writing = resolve));
    const refreshed = session.refresh().catch(() => undefined);
    await inWrite;
    await session.setTokens({ accessToken: 'bob-a0', refreshToken: 'bob-r0' }); // Bob logs in meanwhile
    expect(session.getTokens()?.accessToken).toBe('bob-a0');
    await new Promise((resolve) => setTimeout(resolve, 60)); // the failed write comes back
    // What happens: 'alice-a1', adopted over Bob's login.
    expect(session.getTokens()?.accessToken).toBe('bob-a0');
    await refreshed;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(session.getTokens()?.accessToken).toBe('bob-a0');
    expect((await inner.read()).tokens?.accessToken).toBe('bob-a0');
    // What happens: ['bob-a0', 'alice-a1']: the app's storage ends with Alice's tokens.
    expect(saved.at(-1)).toBe('bob-a0');
    expect(seen.at(-1)).toBe('bob-a0');
  });
});
