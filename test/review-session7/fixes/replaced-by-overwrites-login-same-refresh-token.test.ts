/**
 * Session 7, review r3 (break-it) of f704aea..HEAD. `#replacedBy` treats any record that carries the refresh token a refresh just
 * presented as "replaced by" the refresh's tokens, at any version. With non-rotating refresh tokens (Keycloak offline
 * tokens, Auth0/Okta without rotation, Azure AD B2C in some set-ups) a login made meanwhile in another session sharing
 * the store (a tab, a process, or two sessions on one MemoryTokenStore) carries that same refresh token, so the refresh
 * that started before the login writes its older tokens over the login.
 */
import { describe, expect, it } from 'vitest';
import { createTokenSession, MemoryTokenStore } from '../../../src/index.js';
import type { TokenSet } from '../../../src/index.js';

describe('#replacedBy with a non-rotating refresh token', () => {
  it('a login made during another session’s refresh is not overwritten by that refresh', async () => {
    const store = new MemoryTokenStore();
    store.write({ accessToken: 'old-access', refreshToken: 'offline-rt', expiresAt: Date.now() + 60_000 }, 0);
    let answer!: (tokens: TokenSet) => void;
    let called!: () => void;
    const inRefresh = new Promise<void>((resolve) => (called = resolve));
    const a = createTokenSession({
      store,
      tokens: async () => null,
      // The server does not rotate: the answer carries no refresh token (the old one stays).
      refresh: () =>
        new Promise<TokenSet>((resolve) => {
          answer = resolve;
          called();
        }),
    });
    const b = createTokenSession({ store, tokens: async () => null, refresh: async () => ({ accessToken: 'x' }) });
    a.on('refreshError', () => undefined);
    await a.getAccessToken();
    await b.getAccessToken();

    const refreshing = a.refresh();
    await inRefresh;
    // Meanwhile the user logs in again in B (step-up, another consent): a new login, the same offline refresh token.
    const login = { accessToken: 'login-access', idToken: 'login-id', refreshToken: 'offline-rt' };
    await b.setTokens(login);
    expect((await store.read()).tokens?.accessToken).toBe('login-access');

    answer({ accessToken: 'refreshed-from-old-login', expiresAt: Date.now() + 60_000 });
    await refreshing.catch(() => undefined);

    // What happens: the store holds 'refreshed-from-old-login' at a version above the login's: the login is lost
    // (its id token too), and every session sharing the store adopts the older login's tokens.
    const stored = await store.read();
    expect(stored.tokens?.accessToken).toBe('login-access');
    expect(stored.tokens?.idToken).toBe('login-id');
  });
});
