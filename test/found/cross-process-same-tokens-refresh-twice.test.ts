/**
 * Found (s8 review 4, MEDIUM, regression of 66bb2e7): two processes sharing one store, a server that answers a refresh
 * with the same tokens (Salesforce: same access token, no expires_in, no rotation; or a JWT re-issued until its exp).
 * When both processes need a refresh at once, the one that waits for the lock no longer adopts the other's answer:
 * it refreshes AGAIN. N processes, N refresh calls for one expiry / one 401 burst (at 39653ed: one).
 *
 * Why: in `#underLock`, a record at a version above the flight's is adopted through `#adoptFromElsewhere`, which passes
 * `recorded = true`; `#adopt` then takes another process's refresh answer, equal by value, for "our tokens recorded
 * again" (it cannot tell it from our own late write): `#tokensSince` stays at the flight's version, so
 * `#inUse(version)` holds and the new branch "refreshes from them". The very case 66bb2e7 settled for one session (a
 * refresh that answers the same tokens IS a refresh) is undone across processes.
 *
 * Sequence A (401s, plain memory store shared by S1 and S2, tokens { sf1, R }, no expiresAt):
 *   S1 GET /a and S2 GET /b go out at v0; both 401. S1's flight takes the lock, refreshes: { sf1, R } at v1.
 *   S2's flight (v0) takes the lock, reads { sf1, R } at v1: adopted as "ours again", inUse(0) -> refreshes: v2.
 * Sequence B (getAccessToken({ minValidityMs }), JWT access token re-issued with the same exp):
 *   S1 and S2 call getAccessToken({ minValidityMs: 60_000 }) for a token valid 30 s more. S1 refreshes (the server
 *   gives the same JWT back, same exp); S2 then refreshes too.
 * Expected: one refresh call in each (as at 39653ed: the waiter ends 'adopted'). Observed: two.
 */
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { MemoryTokenStore, attachRefresh, createTokenSession } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';

function unauthorizedOnce(): { adapter: AxiosAdapter; sent: string[] } {
  const seen = new Set<string>();
  const sent: string[] = [];
  const adapter: AxiosAdapter = async (config) => {
    const path = String(config.url);
    sent.push(`${path} ${String(config.headers.Authorization)}`);
    if (!seen.has(path)) {
      seen.add(path);
      throw new AxiosError('Unauthorized', 'ERR_BAD_REQUEST', config, undefined, {
        status: 401,
        statusText: 'Unauthorized',
        headers: {},
        config,
        data: {},
      });
    }
    return { data: 'ok', status: 200, statusText: 'OK', headers: {}, config };
  };
  return { adapter, sent };
}

function jwt(exp: number): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'u', exp })}.sig`;
}

describe('two processes, one store, a refresh that answers the same tokens', () => {
  it('a 401 burst across both costs one refresh, not one per process', async () => {
    const store = new MemoryTokenStore({ accessToken: 'sf1', refreshToken: 'R' });
    const calls: string[] = [];
    const refresh = async (current: TokenSet, context: { reason?: string }): Promise<TokenSet> => {
      calls.push(String(context.reason));
      return { accessToken: current.accessToken ?? 'sf1', refreshToken: current.refreshToken ?? 'R' };
    };
    const one = unauthorizedOnce();
    const two = unauthorizedOnce();
    const api1 = axios.create({ adapter: one.adapter });
    const api2 = axios.create({ adapter: two.adapter });
    const s1 = attachRefresh(api1, { store, refresh });
    const s2 = attachRefresh(api2, { store, refresh });

    const [a, b] = await Promise.all([api1.get('/a'), api2.get('/b')]);
    expect(a.data).toBe('ok');
    expect(b.data).toBe('ok');
    expect(one.sent).toEqual(['/a Bearer sf1', '/a Bearer sf1']);
    expect(two.sent).toEqual(['/b Bearer sf1', '/b Bearer sf1']);
    // Observed: ['unauthorized', 'unauthorized'] (S2 refreshes from S1's answer), store at v2.
    expect(calls).toEqual(['unauthorized']);
    expect((await store.read()).version).toBe(1);
    await s1.close();
    await s2.close();
  });

  it('getAccessToken({ minValidityMs }) in both costs one refresh when the server re-issues the same JWT', async () => {
    const exp = Math.floor(Date.now() / 1000) + 30; // valid 30 s more: not enough for minValidityMs 60 s
    const token = jwt(exp);
    const store = new MemoryTokenStore({ accessToken: token, refreshToken: 'R', expiresAt: exp * 1000 });
    const calls: string[] = [];
    // The server hands back the access token it already issued (still valid): same JWT, same exp; no rotation.
    const refresh = async (_current: TokenSet, context: { reason?: string }): Promise<TokenSet> => {
      calls.push(String(context.reason));
      return { accessToken: token };
    };
    const s1 = createTokenSession({ store, refresh });
    const s2 = createTokenSession({ store, refresh });

    const [t1, t2] = await Promise.all([
      s1.getAccessToken({ minValidityMs: 60_000 }),
      s2.getAccessToken({ minValidityMs: 60_000 }),
    ]);
    expect(t1).toBe(token);
    expect(t2).toBe(token);
    // Observed: ['expired', 'expired'].
    expect(calls).toEqual(['expired']);
    await s1.close();
    await s2.close();
  });
});
