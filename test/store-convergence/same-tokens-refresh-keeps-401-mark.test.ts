/**
 * Found (s8 review 2, MEDIUM): a refresh that answers with the tokens the session already holds (by value) keeps the
 * 401 mark (`#staleVersion`) on them for good, so EVERY later request refreshes before it is sent: one token request
 * per API request, forever, where docs/api.md promises that a 401 "joins the refresh and is replayed" and no more.
 *
 * Why tokens repeat: some servers answer a refresh_token grant with the access token they issued while it is still
 * valid (reported for Salesforce, whose token response also has no `expires_in` and which does not rotate the refresh
 * token; home-grown servers that cache the access token per refresh token). `sameTokens` (9846aef) compares
 * accessToken, refreshToken and expiresAt by value,
 * all three equal here, so `#adopt` takes the refresh's written record for "the same tokens recorded again" and moves
 * the mark to the new version (`if (this.#staleVersion === this.#version) this.#staleVersion = stored.version`).
 * Before 9846aef `#adopt` compared by identity: refreshed tokens are a new object, and the mark was cleared.
 *
 * Sequence (in-memory session, no store; the same with any store):
 *   tokens { sf1, R } (opaque, no expiresAt). GET /a gets a transient 401 (a gateway hiccup), the server accepts sf1
 *   from then on. The 401 marks version 0 refused; the refresh answers { sf1, R }; written at 1, adopted: the mark
 *   moves to 1. The replay goes with sf1 after ANOTHER refresh ('stale'), and so does every later request.
 * Expected: 1 refresh for the one 401, then requests go out with sf1 as they are.
 */
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';

describe('a refresh that returns the same tokens (Salesforce: same access token, no expires_in, no rotation)', () => {
  it('clears the 401 mark: later requests are sent without a refresh each', async () => {
    const reasons: string[] = [];
    const refresh = async (current: TokenSet, context: { reason?: string }): Promise<TokenSet> => {
      reasons.push(String(context.reason));
      return { accessToken: current.accessToken ?? 'sf1', refreshToken: current.refreshToken ?? 'R' };
    };
    let hiccup = true;
    const adapter: AxiosAdapter = async (config) => {
      if (hiccup) {
        hiccup = false;
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
    const attached = attachRefresh(api, { tokens: { accessToken: 'sf1', refreshToken: 'R' }, refresh });

    expect((await api.get('/a')).data).toBe('ok'); // 401, refresh, replay
    for (let i = 0; i < 5; i += 1) expect((await api.get(`/b${i}`)).data).toBe('ok');

    // Observed: ['unauthorized', 'stale', 'stale', 'stale', 'stale', 'stale', 'stale']: a refresh per request.
    expect(reasons).toEqual(['unauthorized']);
    await attached.close();
  });
});
