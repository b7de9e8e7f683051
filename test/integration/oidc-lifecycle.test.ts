import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachRefresh,
  clientCredentialsGrant,
  isTokenRefreshError,
  refreshTokenGrant,
  tokenSetFromResponse,
} from '../../src/index.js';
import type { RefreshContext, RefreshFunction, TokenRefreshError, TokenSet } from '../../src/index.js';
import { startOidcFull } from '../support/oidc-full.js';
import type { OidcFull } from '../support/oidc-full.js';

const context = (): RefreshContext => ({ signal: new AbortController().signal, reason: 'manual' });

async function failureOf(promise: Promise<unknown> | undefined): Promise<TokenRefreshError> {
  try {
    await promise;
  } catch (error) {
    expect(isTokenRefreshError(error)).toBe(true);
    return error as TokenRefreshError;
  }
  throw new Error('expected a failure');
}

/** How many requests failed, and the first failure, in a line a failing test can print. */
function failures(results: ReadonlyArray<PromiseSettledResult<unknown>>): { failed: number; first: string } {
  const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  return { failed: rejected.length, first: rejected.length === 0 ? '' : String(rejected[0]?.reason) };
}

function revokeOf(refresh: RefreshFunction): NonNullable<RefreshFunction['revoke']> {
  expect(refresh.revoke).toBeTypeOf('function');
  return refresh.revoke as NonNullable<RefreshFunction['revoke']>;
}

describe('the life of a login against oidc-provider (discovery, revocation, introspection, client credentials)', () => {
  let oidc: OidcFull;
  beforeAll(async () => {
    oidc = await startOidcFull();
  });
  afterAll(async () => {
    await oidc.close();
  });

  it('maps the real token endpoint answer with tokenSetFromResponse, expiry counted from receivedAt', async () => {
    const login = await oidc.login();
    const sentAt = Date.now();
    const { data } = await axios.post<unknown>(
      oidc.tokenUrl,
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refreshToken }).toString(),
      { auth: { username: oidc.clients.app.clientId, password: oidc.clients.app.clientSecret } },
    );
    const tokens = tokenSetFromResponse(data, { receivedAt: sentAt });
    expect(tokens).toMatchObject({ tokenType: 'Bearer', scope: 'openid offline_access' });
    expect(tokens.idToken).toMatch(/^ey/);
    expect(tokens.expiresAt).toBe(sentAt + 60_000);
    expect(await oidc.introspect(tokens.accessToken ?? '', 'access_token')).toBe(true);
  });

  it('discovers the token endpoint of a path-aware issuer (the OpenID location, after the RFC 8414 one answers 404) and refreshes', async () => {
    const login = await oidc.login();
    const refresh = refreshTokenGrant({ issuer: oidc.issuer, ...oidc.clients.app });
    const tokens = await refresh({ refreshToken: login.refreshToken }, context());
    expect(tokens.accessToken).not.toBe(login.accessToken);
    expect(oidc.tokenCalls.at(-1)).toBe('refresh_token');
    expect(await oidc.introspect(tokens.accessToken ?? '', 'access_token')).toBe(true);
  });

  it('refuses a metadata document whose issuer differs from the configured one, before any token request', async () => {
    const login = await oidc.login();
    const calls = oidc.tokenCalls.length;
    const refresh = refreshTokenGrant({ issuer: oidc.copiedIssuer, ...oidc.clients.app });
    const error = await failureOf(Promise.resolve(refresh({ refreshToken: login.refreshToken }, context())));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain(`names the issuer \`${oidc.issuer}\``);
    expect(oidc.tokenCalls.length).toBe(calls);
    expect(await oidc.introspect(login.refreshToken, 'refresh_token')).toBe(true);
  });

  it('revokes through the discovered revocation endpoint: introspection then says active: false for both tokens', async () => {
    const login = await oidc.login();
    const refresh = refreshTokenGrant({ issuer: oidc.issuer, ...oidc.clients.app });
    const tokens = await refresh({ refreshToken: login.refreshToken }, context());
    expect(await oidc.introspect(tokens.refreshToken ?? '', 'refresh_token')).toBe(true);
    await revokeOf(refresh)(tokens, { signal: new AbortController().signal });
    expect(await oidc.introspect(tokens.refreshToken ?? '', 'refresh_token')).toBe(false);
    expect(await oidc.introspect(tokens.accessToken ?? '', 'access_token')).toBe(false);
    // And the grant is over: the next refresh ends the session.
    const error = await failureOf(Promise.resolve(refresh(tokens, context())));
    expect(error.code).toBe('SESSION_EXPIRED');
  });

  it('gives up on a revocation endpoint that hangs at the grant’s timeoutMs, with REFRESH_FAILED', async () => {
    const login = await oidc.login();
    const refresh = refreshTokenGrant({
      tokenUrl: oidc.tokenUrl,
      revocationUrl: oidc.revocationUrl,
      ...oidc.clients.app,
      timeoutMs: 500,
    });
    oidc.hangRevocation = true;
    try {
      const before = oidc.revocationCalls;
      const error = await failureOf(
        revokeOf(refresh)({ refreshToken: login.refreshToken }, { signal: new AbortController().signal }),
      );
      expect(error.code).toBe('REFRESH_FAILED');
      expect(error.message).toContain('did not answer within 500 ms');
      expect(oidc.revocationCalls).toBe(before + 1);
    } finally {
      oidc.hangRevocation = false;
    }
  });

  it('with clientCredentialsGrant and attachRefresh: 1,000 concurrent requests cost one token request, and a server-side revocation of the service token costs exactly one more', async () => {
    const refresh = clientCredentialsGrant({ issuer: oidc.issuer, ...oidc.clients.svc, scope: 'reports:read' });
    const api = axios.create({ baseURL: oidc.apiUrl });
    const issued: Array<TokenSet | null> = [];
    const auth = attachRefresh(api, { tokens: null, refresh, onTokens: (tokens) => void issued.push(tokens) });
    const before = oidc.tokenCalls.length;

    const first = await Promise.allSettled(Array.from({ length: 1000 }, () => api.get('/reports')));
    expect(failures(first)).toEqual({ failed: 0, first: '' });
    expect(oidc.tokenCalls.slice(before)).toEqual(['client_credentials']);

    const serviceToken = auth.session.getTokens()?.accessToken ?? '';
    expect(await oidc.introspect(serviceToken, 'access_token')).toBe(true);
    await oidc.revokeAsAdmin(serviceToken);
    expect(await oidc.introspect(serviceToken, 'access_token')).toBe(false);

    const second = await Promise.allSettled(Array.from({ length: 200 }, () => api.get('/reports')));
    expect(failures(second)).toEqual({ failed: 0, first: '' });
    expect(oidc.tokenCalls.slice(before)).toEqual(['client_credentials', 'client_credentials']);
    expect(issued).toHaveLength(2);
    expect(issued.every((tokens) => tokens?.refreshToken === undefined)).toBe(true);
  }, 60_000);
});
