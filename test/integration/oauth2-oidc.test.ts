import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh, isTokenRefreshError } from '../../src/index.js';
import type { TokenRefreshError, TokenSet } from '../../src/index.js';
import { refreshTokenGrant } from '../../src/oauth2.js';
import { SPECIAL_SECRET, startOidc } from '../support/oidc.js';
import type { HarnessClientName, OidcHarness } from '../support/oidc.js';

const CYCLES = 3;
/** Each cycle sends waves of concurrent requests at these offsets (ms) from the access token's server-side expiry. */
const WAVES_MS = [-200, -100, 10, 100, 200];
const WAVE_SIZE = 4;
const REQUESTS_PER_CYCLE = WAVES_MS.length * WAVE_SIZE;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function settle(promise: Promise<unknown>): Promise<{ ok: true } | { ok: false; error: unknown }> {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Logs in as `client` and attaches the plugin with the built-in grant to a fresh instance aimed at the resource server. */
async function loggedIn(oidc: OidcHarness, client: HarnessClientName) {
  const login = await oidc.login(client);
  const persisted: Array<TokenSet | null> = [];
  const api = axios.create({ baseURL: oidc.apiUrl });
  const attached = attachRefresh(api, {
    tokens: { accessToken: login.accessToken, refreshToken: login.refreshToken, expiresAt: login.expiresAt },
    refresh: refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...oidc.clients[client] }),
    onTokens: (tokens) => {
      persisted.push(tokens);
    },
    // No early refresh: the traffic below must meet the real expiry, where 401s and the expiry check race.
    leewayMs: 0,
  });
  return { login, api, attached, persisted };
}

describe('refreshTokenGrant against oidc-provider (rotation on every use, reuse detection)', () => {
  let oidc: OidcHarness;
  beforeAll(async () => {
    oidc = await startOidc({ accessTokenTtlSeconds: 2 });
  });
  afterAll(async () => {
    await oidc.close();
  });

  it('revokes the grant when a used refresh token comes back (the reuse detection the suite relies on)', async () => {
    const login = await oidc.login('post');
    const refresh = refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...oidc.clients.post });
    const context = { signal: new AbortController().signal, reason: 'manual' as const };
    const rotated = await refresh({ refreshToken: login.refreshToken }, context);
    expect(rotated.refreshToken).not.toBe(login.refreshToken);

    const reuse = await settle(Promise.resolve(refresh({ refreshToken: login.refreshToken }, context)));
    expect(reuse.ok).toBe(false);
    expect((reuse as { error: TokenRefreshError }).error).toMatchObject({
      code: 'SESSION_EXPIRED',
      oauthError: 'invalid_grant',
    });
    expect(oidc.stats.revokedGrants).toContain(login.grantId);
    // The reuse took the rotated token down with the grant.
    const after = await settle(Promise.resolve(refresh(rotated, context)));
    expect((after as { error: TokenRefreshError }).error.code).toBe('SESSION_EXPIRED');
  });

  it('shows why credentials are form-encoded: the same secret sent raw is refused, as CONFIGURATION_ERROR', async () => {
    const login = await oidc.login('basic');
    const raw = refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...oidc.clients.basic, basicAuthEncoding: 'raw' });
    const result = await settle(
      Promise.resolve(
        raw({ refreshToken: login.refreshToken }, { signal: new AbortController().signal, reason: 'manual' }),
      ),
    );
    expect((result as { error: TokenRefreshError }).error.code).toBe('CONFIGURATION_ERROR');
    expect(await oidc.grantExists(login.grantId)).toBe(true);
  });

  describe.each<[HarnessClientName, string]>([
    ['basic', `client_secret_basic with the secret ${JSON.stringify(SPECIAL_SECRET)}`],
    ['post', 'client_secret_post'],
    ['none', 'a public client (none)'],
  ])('%s: %s', (client) => {
    it(`serves ${CYCLES} expiry cycles of ${REQUESTS_PER_CYCLE} requests straddling each expiry with one refresh each`, async () => {
      const { login, api, persisted } = await loggedIn(oidc, client);
      const refreshesBefore = oidc.stats.refreshes;
      const callsBefore = oidc.stats.tokenCalls.length;
      let accessToken = login.accessToken;
      let straddled = 0;

      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const expiry = await oidc.accessTokenExpiry(accessToken);
        expect(expiry).toBeDefined();
        const start = expiry ?? 0;
        const results = await Promise.all(
          WAVES_MS.flatMap((offset) =>
            Array.from({ length: WAVE_SIZE }, (_, i) =>
              sleep(start + offset - Date.now()).then(() =>
                api.get<{ client_id: string; token: number }>('/me', { params: { cycle, offset, i } }),
              ),
            ),
          ),
        );
        expect(results.map((r) => r.status)).toEqual(Array(REQUESTS_PER_CYCLE).fill(200));
        expect(results.every((r) => r.data.client_id === oidc.clients[client].clientId)).toBe(true);
        // At most the expiring token and its one successor served this cycle, the successor last.
        const served = results.map((r) => r.data.token);
        expect(new Set(served).size).toBeLessThanOrEqual(2);
        expect(served.at(-1)).toBe(Math.max(...served));
        if (new Set(served).size === 2) straddled += 1;
        expect(oidc.stats.refreshes - refreshesBefore).toBe(cycle);
        accessToken = persisted.at(-1)?.accessToken ?? '';
      }

      // The waves met the expiry (scheduling on a loaded machine may push a whole cycle past it, not every cycle).
      expect(straddled).toBeGreaterThan(0);
      const calls = oidc.stats.tokenCalls.slice(callsBefore);
      expect(calls.map((c) => c.status)).toEqual(Array(CYCLES).fill(200));
      expect(oidc.refreshTokensPresentedTwice(calls)).toEqual([]);
      expect(oidc.stats.revokedGrants).not.toContain(login.grantId);
      expect(await oidc.grantExists(login.grantId)).toBe(true);

      // onTokens saw every rotated pair, and each refresh presented the refresh token the previous one persisted.
      expect(persisted).toHaveLength(CYCLES);
      const presented = calls.map((c) => c.refreshToken);
      expect(presented).toEqual([login.refreshToken, ...persisted.slice(0, -1).map((t) => t?.refreshToken)]);
      const refreshTokens = persisted.map((t) => t?.refreshToken);
      expect(new Set([login.refreshToken, ...refreshTokens]).size).toBe(CYCLES + 1);
      expect(new Set(persisted.map((t) => t?.accessToken)).size).toBe(CYCLES);
      for (const tokens of persisted) {
        expect(tokens).toMatchObject({ tokenType: 'Bearer', scope: 'openid offline_access' });
        expect(typeof tokens?.idToken).toBe('string');
        expect(tokens?.expiresAt).toBeGreaterThan(0);
      }
    });
  });

  it('ends the session once when the grant is revoked: SESSION_EXPIRED for every waiting request', async () => {
    const { login, api, attached, persisted } = await loggedIn(oidc, 'basic');
    const expired: TokenRefreshError[] = [];
    attached.on('sessionExpired', (error) => expired.push(error));
    expect((await api.get('/me')).status).toBe(200);
    const callsBefore = oidc.stats.tokenCalls.length;

    await oidc.revokeGrant(login.grantId);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => settle(api.get('/me', { params: { i } }))));

    const errors = results.map((result) => (result.ok ? undefined : result.error));
    expect(errors.every((error) => isTokenRefreshError(error) && error.code === 'SESSION_EXPIRED')).toBe(true);
    // Requests that waited for the refresh carry the server's verdict; a 401 that lands after the session ended is
    // refused by the session alone.
    expect(errors.some((error) => (error as TokenRefreshError).oauthError === 'invalid_grant')).toBe(true);
    expect(expired).toHaveLength(1);
    const calls = oidc.stats.tokenCalls.slice(callsBefore);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.error).toBe('invalid_grant');
    expect(persisted.at(-1)).toBeNull();
    expect(attached.getTokens()).toBeNull();
  });
});

describe('refreshTokenGrant against oidc-provider without rotation (Keycloak offline-token style)', () => {
  let oidc: OidcHarness;
  beforeAll(async () => {
    oidc = await startOidc({ accessTokenTtlSeconds: 1, rotateRefreshTokens: false });
  });
  afterAll(async () => {
    await oidc.close();
  });

  it('keeps using the same refresh token across expiry cycles', async () => {
    const { login, api, persisted } = await loggedIn(oidc, 'basic');
    for (let cycle = 1; cycle <= 2; cycle++) {
      const accessToken = persisted.at(-1)?.accessToken ?? login.accessToken;
      await sleep(((await oidc.accessTokenExpiry(accessToken)) ?? 0) + 50 - Date.now());
      const results = await Promise.all(Array.from({ length: 5 }, () => api.get('/me')));
      expect(results.every((r) => r.status === 200)).toBe(true);
    }
    expect(oidc.stats.refreshes).toBe(2);
    expect(oidc.stats.consumed).toBe(0);
    expect(oidc.stats.tokenCalls.map((c) => c.refreshToken)).toEqual([login.refreshToken, login.refreshToken]);
    expect(persisted.map((t) => t?.refreshToken)).toEqual([login.refreshToken, login.refreshToken]);
    expect(await oidc.grantExists(login.grantId)).toBe(true);
  });
});
