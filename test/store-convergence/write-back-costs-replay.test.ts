/**
 * Found (s8-stores review, suspected item (a), LOW-MEDIUM): the write-back that follows a failed store write bumps the
 * session's version with the SAME tokens, and a request whose 401 is for those tokens loses its replay to it.
 *
 * Sequence: the session refreshes (a0 -> a1); the store's write fails, so a1 is used at the version the store still
 * has (1) and written back under the lock, backing off (`#writeBack`). A request goes out with a1 (version 1). The
 * store comes back and the write-back lands: the session adopts { a1, version 2 }. The request's answer is a 401 for
 * a1. `refreshFor(1, 'unauthorized')` sees version 2 != 1, takes it for "newer tokens exist" and resolves at once;
 * the request is replayed with a1, the very token the server just refused, gets a 401 again, and (maxReplays 1)
 * fails. Before the write-back landed the same 401 would have refreshed and the replay succeeded. docs/api.md: a 401
 * "joins the refresh and is replayed"; the user's request fails instead.
 */
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { flakyStore } from '../support/flaky-store.js';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('a 401 for tokens the write-back recorded meanwhile', () => {
  it('refreshes and replays with new tokens, not with the refused ones', async () => {
    const { store, inner, setDown } = flakyStore();
    await inner.write({ accessToken: 'a0', refreshToken: 'r0' }, 0);
    let serial = 0;
    const refresh = async (_current: TokenSet): Promise<TokenSet> => {
      serial += 1;
      if (serial === 1) setDown(true); // the store fails right after the server rotated r0
      return { accessToken: `a${serial}`, refreshToken: `r${serial}`, expiresAt: Date.now() + 3_600_000 };
    };
    const refused = new Set<string>();
    const sent: string[] = [];
    const adapter: AxiosAdapter = async (config) => {
      const authorization = String(config.headers.Authorization);
      sent.push(authorization);
      if (authorization === 'Bearer a1' && !refused.has('a1')) {
        // The server refuses a1 (revoked, say). Its answer arrives after the store came back and the write-back
        // landed: the session's version moved on, its tokens did not.
        refused.add('a1');
        setDown(false);
        for (
          let waited = 0;
          (attached.session as unknown as { version: number }).version < 2 && waited < 3_000;
          waited += 20
        )
          await sleep(20);
      }
      if (refused.has(authorization.slice('Bearer '.length))) {
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
    const api = axios.create({ adapter });
    const attached = attachRefresh(api, { store, refresh });
    attached.session.on('refreshError', () => undefined); // the STORE_FAILED of the failed write

    await attached.refresh(); // a1 in use at version 1, the write-back retrying
    expect(attached.getTokens()?.accessToken).toBe('a1');
    const outcome = await api.get('/me').then(
      (response) => response.data,
      (error: AxiosError) => `failed: ${error.response?.status}`,
    );
    expect((attached.session as unknown as { version: number }).version).toBeGreaterThanOrEqual(2); // the write-back landed while the request was out
    expect.soft(sent).toEqual(['Bearer a1', 'Bearer a2']);
    expect(outcome).toBe('ok');
    await attached.close();
  });
});
