/**
 * logout() and getAccessToken() through attachRefresh against a real oidc-provider (discovery, revocation,
 * introspection) and a resource server that checks every token by introspection, all on 127.0.0.1 (issue 13, "Proof
 * against real servers"). The grant's own revoke() and the unit-level behaviour are proven in oidc-lifecycle.test.ts,
 * trust.test.ts and trust-hostile.test.ts; here the whole chain runs on real HTTP.
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { attachRefresh, createTokenSession, refreshTokenGrant, tokenSetFromResponse } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { rejection } from '../support/rejection.js';
import { startOidcFull } from '../support/oidc-full.js';
import type { OidcFull } from '../support/oidc-full.js';

/**
 * What the app holds after a login: the token endpoint's real JSON answer (RFC 6749 §5.1) and when it was sent. The
 * login itself (authorization code + PKCE) needs a browser; the answer to a refresh of a fresh grant has the same shape.
 */
async function loginResponse(oidc: OidcFull): Promise<{ data: unknown; receivedAt: number }> {
  const login = await oidc.login();
  const receivedAt = Date.now();
  const { data } = await axios.post<unknown>(
    oidc.tokenUrl,
    new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refreshToken }).toString(),
    { auth: { username: oidc.clients.app.clientId, password: oidc.clients.app.clientSecret } },
  );
  return { data, receivedAt };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the quick start against oidc-provider: from a login response to logout()', () => {
  let oidc: OidcFull;
  beforeAll(async () => {
    oidc = await startOidcFull();
  });
  afterAll(async () => {
    await oidc.close();
  });

  it('sends the login’s tokens, refreshes through discovery, and logout() revokes the refresh token (introspection: active false); two instances sharing the session both see null, with a tokens event and no sessionExpired', async () => {
    const { data, receivedAt } = await loginResponse(oidc);
    const tokens = tokenSetFromResponse(data, { receivedAt });
    const saved: Array<TokenSet | null> = [];
    const session = createTokenSession({
      tokens,
      refresh: refreshTokenGrant({ issuer: oidc.issuer, ...oidc.clients.app }),
      onTokens: (next) => void saved.push(next),
    });
    const reports = axios.create({ baseURL: oidc.apiUrl });
    const uploads = axios.create({ baseURL: oidc.apiUrl });
    const first = attachRefresh(reports, { session });
    const second = attachRefresh(uploads, { session });

    expect((await reports.get('/reports')).status).toBe(200);
    expect((await uploads.get('/reports')).status).toBe(200);
    const calls = oidc.tokenCalls.length;
    // A WebSocket handshake that wants a token good for longer than the 60 s it has: one refresh, for both instances.
    const refreshed = await first.getAccessToken({ minValidityMs: 120_000 });
    expect(oidc.tokenCalls.slice(calls)).toEqual(['refresh_token']);
    expect(refreshed).not.toBe(tokens.accessToken);
    expect(second.getTokens()?.accessToken).toBe(refreshed);
    expect(await oidc.introspect(refreshed, 'access_token')).toBe(true);
    expect((await uploads.get('/reports')).status).toBe(200);
    const current = session.getTokens();
    expect(current?.refreshToken).toBeDefined();
    expect(await oidc.introspect(current?.refreshToken ?? '', 'refresh_token')).toBe(true);

    const events = { first: [] as Array<TokenSet | null>, second: [] as Array<TokenSet | null> };
    const expired = vi.fn();
    first.on('tokens', (next) => events.first.push(next));
    second.on('tokens', (next) => events.second.push(next));
    first.on('sessionExpired', expired);
    second.on('sessionExpired', expired);
    const revocations = oidc.revocationCalls;

    expect(await first.logout()).toEqual({ revoked: true });

    expect(oidc.revocationCalls).toBe(revocations + 2); // the refresh token and the access token
    expect(await oidc.introspect(current?.refreshToken ?? '', 'refresh_token')).toBe(false);
    expect(await oidc.introspect(current?.accessToken ?? '', 'access_token')).toBe(false);
    expect(first.getTokens()).toBeNull();
    expect(second.getTokens()).toBeNull();
    expect(events.first).toContain(null);
    expect(events.second).toContain(null);
    expect(events.first.at(-1)).toBeNull();
    expect(events.second.at(-1)).toBeNull();
    expect(saved.at(-1)).toBeNull();
    expect(expired).not.toHaveBeenCalled();

    // Neither instance sends the revoked token again, nor asks the token endpoint for a new one.
    const anonymous = oidc.api.anonymous;
    const afterLogout = oidc.tokenCalls.length;
    expect((await rejection(reports.get('/reports'))).code).toBe('SESSION_EXPIRED');
    expect((await rejection(uploads.get('/reports'))).code).toBe('SESSION_EXPIRED');
    expect(oidc.api.anonymous).toBe(anonymous + 2);
    expect(oidc.tokenCalls.length).toBe(afterLogout);
    expect(expired).not.toHaveBeenCalled();
  });

  it('clears the tokens within refreshTimeoutMs when the revocation endpoint never answers, and reports REFRESH_TIMEOUT', async () => {
    const { data, receivedAt } = await loginResponse(oidc);
    const tokens = tokenSetFromResponse(data, { receivedAt });
    const refreshTimeoutMs = 500;
    // The grant's own timeout is far longer: what bounds logout() here is the session's refreshTimeoutMs.
    const refresh = refreshTokenGrant({ issuer: oidc.issuer, ...oidc.clients.app, timeoutMs: 20_000 });
    const api = axios.create({ baseURL: oidc.apiUrl });
    const auth = attachRefresh(api, { tokens, refresh, refreshTimeoutMs });
    expect((await api.get('/reports')).status).toBe(200);
    const reported = vi.fn();
    const nulls = vi.fn();
    auth.on('refreshError', reported);
    auth.on('tokens', nulls);
    const revocations = oidc.revocationCalls;
    oidc.hangRevocation = true;
    try {
      const started = performance.now();
      const result = await auth.logout();
      const elapsed = performance.now() - started;

      expect(oidc.revocationCalls).toBeGreaterThan(revocations); // it did reach the endpoint, which never answered
      expect(result.revoked).toBe(false);
      expect(result.error?.code).toBe('REFRESH_TIMEOUT');
      expect(reported).toHaveBeenCalledWith(result.error);
      expect(auth.getTokens()).toBeNull();
      expect(nulls).toHaveBeenCalledWith(null);
      // Bounded by refreshTimeoutMs (plus scheduling slack on a loaded machine), nowhere near the grant's 20 s.
      expect(elapsed).toBeGreaterThanOrEqual(refreshTimeoutMs - 10);
      expect(elapsed).toBeLessThan(refreshTimeoutMs + 4000);
      const anonymous = oidc.api.anonymous;
      expect((await rejection(api.get('/reports'))).code).toBe('SESSION_EXPIRED');
      expect(oidc.api.anonymous).toBe(anonymous + 1);
    } finally {
      oidc.hangRevocation = false;
    }
  });
});

describe('getAccessToken() against oidc-provider', () => {
  const ttlSeconds = 3;
  let oidc: OidcFull;
  beforeAll(async () => {
    oidc = await startOidcFull(ttlSeconds);
  });
  afterAll(async () => {
    await oidc.close();
  });

  it('makes one refresh for 100 concurrent calls on an expired access token, and every call gets the new token', async () => {
    const { data, receivedAt } = await loginResponse(oidc);
    const tokens = tokenSetFromResponse(data, { receivedAt });
    expect(tokens.expiresAt).toBe(receivedAt + ttlSeconds * 1000);
    const api = axios.create({ baseURL: oidc.apiUrl });
    const auth = attachRefresh(api, {
      tokens,
      refresh: refreshTokenGrant({ issuer: oidc.issuer, ...oidc.clients.app }),
    });
    // Let it really expire: the server says so too.
    await sleep((tokens.expiresAt ?? 0) - Date.now() + 100);
    expect(await oidc.introspect(tokens.accessToken ?? '', 'access_token')).toBe(false);
    const calls = oidc.tokenCalls.length;

    const got = await Promise.all(Array.from({ length: 100 }, () => auth.getAccessToken()));

    expect(oidc.tokenCalls.slice(calls)).toEqual(['refresh_token']);
    expect(new Set(got)).toEqual(new Set([auth.getTokens()?.accessToken]));
    expect(got[0]).not.toBe(tokens.accessToken);
    expect(await oidc.introspect(got[0] ?? '', 'access_token')).toBe(true);
  });
});
