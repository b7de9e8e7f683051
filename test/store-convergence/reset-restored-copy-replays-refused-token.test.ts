/**
 * Found (s8 review 4, LOW-MEDIUM, also at 39653ed: not a regression of 66bb2e7, but the 'recorded' reasoning it adds
 * does not reach this path): after the store lost its data, a 401's flight that finds the REFUSED tokens written back
 * by another process (its `#restore`, at a lower version) adopts them through `#adoptReset` as a new login and ends
 * 'adopted': the 401 mark is dropped and the request is replayed with the very token the server refused.
 *
 * Why: `#adoptReset` sets `#version = -1` before `#adoptFromElsewhere`; `#adopt` does take the record for "ours
 * recorded again" (recorded, same by value) but carries the mark only `if (#staleVersion === #version)`, and #version
 * is -1 by then: the mark (at the old version) no longer matches anything. `#underLock` then returns 'adopted'
 * without a refresh.
 *
 * Sequence (S1, S2 share a store; reads return structuredClone copies; the store is emptied, as Redis restarting
 * without persistence, or the token file deleted):
 *   store { T = a0/r0, v3 }; S1 and S2 load it (v3). The store is emptied ({ null, v0 }).
 *   S1.refresh(): under the lock it reads v0 below its v3, not a login -> `#restore` writes T at v1; its refresh call
 *   fails (network): REFRESH_FAILED. The store holds { T, v1 }.
 *   S2 GET /me with a0 (v3) -> 401. S2's flight reads { T, v1 }: lower than v3 -> `#adoptReset` -> 'adopted'; GET /me
 *   is replayed with a0 -> 401 -> the request fails; no refresh was tried.
 * Expected: a0 is known refused: S2 refreshes (a1) and the replay with a1 succeeds.
 */
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { MemoryTokenStore, attachRefresh } from '../../src/index.js';
import type { TokenSet, TokenStore } from '../../src/index.js';

describe('a store emptied, then the refused tokens restored by another process', () => {
  it('a 401 for them still refreshes: they are not a new login', async () => {
    const T: TokenSet = { accessToken: 'a0', refreshToken: 'r0', expiresAt: Date.now() + 3_600_000 };
    let data = new MemoryTokenStore();
    for (let v = 0; v < 3; v += 1) data.write(T, v); // { T, v3 }
    const lock = new MemoryTokenStore();
    const store: TokenStore = {
      read: async () => structuredClone(data.read()), // a parsed record, as Redis/file/localStorage give
      write: async (tokens, expectedVersion, ended) => structuredClone(data.write(tokens, expectedVersion, ended)),
      withLock: (task, options) => lock.withLock(task, options),
    };

    let failNext = false;
    let serial = 0;
    const calls: string[] = [];
    const refresh = async (current: TokenSet): Promise<TokenSet> => {
      calls.push(String(current.refreshToken));
      if (failNext) {
        failNext = false;
        throw new Error('ECONNRESET');
      }
      serial += 1;
      return { accessToken: `a${serial}`, refreshToken: `r${serial}`, expiresAt: Date.now() + 3_600_000 };
    };
    const sent: string[] = [];
    const adapter: AxiosAdapter = async (config) => {
      const authorization = String(config.headers.Authorization);
      sent.push(authorization);
      if (authorization === 'Bearer a0') {
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
    const s1 = attachRefresh(axios.create({ adapter }), { store, refresh, refreshTimeoutMs: 2_000 });
    const api2 = axios.create({ adapter });
    const s2 = attachRefresh(api2, { store, refresh, refreshTimeoutMs: 2_000 });
    s1.session.on('refreshError', () => undefined);
    await s1.session.getAccessToken();
    await s2.session.getAccessToken();
    expect((s2.session as unknown as { version: number }).version).toBe(3);

    data = new MemoryTokenStore(); // the store lost its data
    failNext = true;
    await expect(s1.refresh()).rejects.toMatchObject({ code: 'REFRESH_FAILED' });
    expect(await store.read()).toMatchObject({ version: 1, tokens: { accessToken: 'a0' } }); // S1 restored T

    const outcome = await api2.get('/me').then(
      (response) => response.data,
      (error: AxiosError) => `failed: ${error.response?.status}`,
    );
    // Observed: ['Bearer a0', 'Bearer a0'], 'failed: 401', calls ['r0'] (S1's only).
    expect.soft(sent).toEqual(['Bearer a0', 'Bearer a1']);
    expect.soft(calls).toEqual(['r0', 'r0']);
    expect(outcome).toBe('ok');
    await s1.close();
    await s2.close();
  });
});
