import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { refreshTokenGrant } from '../../src/oauth2.js';
import type { RefreshReason } from '../../src/options.js';
import { startOidcDpop, type DpopClientName, type OidcDpopHarness } from '../support/oidc-dpop.js';

const CYCLES = 3;
/** Waves of concurrent requests at these offsets (ms) from the access token's expiry, in each cycle. */
const WAVES_MS = [-250, 60, 300];
const WAVE_SIZE = 5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

describe('DPoP end to end: oidc-provider (nonces required) and a resource server that checks proofs (RFC 9449 §7)', () => {
  let oidc: OidcDpopHarness;
  beforeAll(async () => {
    // A nonce lives 0.5 to 1 s, so the gaps between waves and cycles meet stale nonces.
    oidc = await startOidcDpop({ accessTokenTtlSeconds: 2, nonceRotationMs: 500 });
  });
  afterAll(() => oidc.close());

  async function session(client: DpopClientName) {
    const dpop = await createDpop();
    const login = await oidc.login(client, dpop.thumbprint);
    const api = axios.create({ baseURL: oidc.apiUrl });
    const reasons: RefreshReason[] = [];
    const attached = attachRefresh(api, {
      tokens: login,
      dpop,
      refresh: refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...oidc.clients[client], dpop }),
      // No early refresh: the traffic must meet the real expiry, where 401s, nonce challenges and the expiry race.
      leewayMs: 0,
      debug: (event) => {
        if (event.type === 'refresh:start') reasons.push(event.reason);
      },
    });
    return { dpop, login, api, attached, reasons };
  }

  it.each(['public', 'confidential'] as const)(
    'serves bursts across %s expiries with one refresh each, answers nonce challenges without refreshing, every jti unique (%s client)'.replace(
      '%s',
      String(CYCLES),
    ),
    async (client) => {
      const { dpop, login, api, attached } = await session(client);
      const before = {
        refreshes: oidc.stats.refreshes,
        challenges: oidc.stats.apiNonceChallenges,
        jtis: oidc.stats.acceptedJtis.length,
        keys: new Set(oidc.stats.acceptedKeys),
      };
      const results: Array<Promise<{ status: number }>> = [];
      for (let cycle = 0; cycle < CYCLES; cycle += 1) {
        const expiry = attached.getTokens()?.expiresAt ?? 0;
        for (const offset of WAVES_MS) {
          await sleep(expiry + offset - Date.now());
          for (let i = 0; i < WAVE_SIZE; i += 1) {
            results.push(api.get(`/items/${cycle}-${i}?page=${offset}#top`));
          }
        }
        await Promise.all(results);
      }
      const statuses = (await Promise.all(results)).map((response) => response.status);
      expect(statuses).toEqual(Array.from({ length: CYCLES * WAVES_MS.length * WAVE_SIZE }, () => 200));
      expect(oidc.stats.refreshes - before.refreshes).toBe(CYCLES);
      expect(oidc.stats.apiNonceChallenges - before.challenges).toBeGreaterThan(0);
      expect(oidc.spentRefreshTokensPresented()).toEqual([]);
      expect(oidc.stats.revokedGrants).not.toContain(login.grantId);
      expect(oidc.stats.apiInvalidProof).toEqual([]);
      const jtis = oidc.stats.acceptedJtis.slice(before.jtis);
      expect(jtis).toHaveLength(statuses.length);
      expect(new Set(jtis).size).toBe(jtis.length);
      expect([...oidc.stats.acceptedKeys].filter((key) => !before.keys.has(key))).toEqual([dpop.thumbprint]);
      expect(attached.getTokens()?.tokenType).toBe('DPoP');
      attached.detach();
    },
    30_000,
  );

  it('answers a 401 use_dpop_nonce by sending again with the new nonce, never with a refresh', async () => {
    const { api, attached, reasons } = await session('public');
    const challenges = oidc.stats.apiNonceChallenges;
    // No nonce known yet: the first request is challenged, the second carries the nonce it got.
    await expect(api.get('/first')).resolves.toMatchObject({ status: 200 });
    await expect(api.get('/second')).resolves.toMatchObject({ status: 200 });
    expect(oidc.stats.apiNonceChallenges - challenges).toBe(1);
    expect(reasons).toEqual([]);
    attached.detach();
  });

  it('has a replayed proof refused (jti seen before)', async () => {
    const { dpop, login } = await session('public');
    const url = `${oidc.apiUrl}/me`;
    const proof = await dpop.proof({ method: 'GET', url, accessToken: login.accessToken, nonce: oidc.apiNonce() });
    const send = () =>
      axios.get(url, {
        headers: { Authorization: `DPoP ${login.accessToken}`, DPoP: proof },
        validateStatus: () => true,
      });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(401);
    expect(replay.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
    expect(oidc.stats.apiInvalidProof.pop()).toBe('jti replayed');
  });

  it('has a token presented with another key refused (cnf.jkt is not the proof key)', async () => {
    const { login } = await session('public');
    const attacker = await createDpop();
    const url = `${oidc.apiUrl}/me`;
    const mismatches = oidc.stats.apiKeyMismatch;
    const proof = await attacker.proof({ method: 'GET', url, accessToken: login.accessToken, nonce: oidc.apiNonce() });
    const response = await axios.get(url, {
      headers: { Authorization: `DPoP ${login.accessToken}`, DPoP: proof },
      validateStatus: () => true,
    });
    expect(response.status).toBe(401);
    expect(oidc.stats.apiKeyMismatch - mismatches).toBe(1);
  });

  it('removes its interceptors with detach()', async () => {
    const { api, attached } = await session('public');
    const handlers = (manager: unknown) =>
      (manager as { handlers: unknown[] }).handlers.filter((handler) => handler !== null).length;
    expect(handlers(api.interceptors.request)).toBe(3);
    expect(handlers(api.interceptors.response)).toBe(2);
    attached.detach();
    expect(handlers(api.interceptors.request)).toBe(0);
    expect(handlers(api.interceptors.response)).toBe(0);
  });
});
