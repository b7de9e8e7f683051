/**
 * Found (s8 review 3, LOW): after a second logout, a 401 for a request sent (without a token) between the two logouts
 * starts a refresh flight: the session reports a `refreshError` (SESSION_EXPIRED, "there are no tokens") and the
 * request fails with SESSION_EXPIRED instead of LOGGED_OUT.
 *
 * Why: `sameTokens(null, null)` is true, so the second logout's adoption keeps `#tokensSince` at the first logout's
 * version; `refreshFor(v1, 'unauthorized')` then finds v1 `#inUse` (v1 >= #tokensSince, v1 < v2) and flies with no
 * tokens, where 39653ed (`version !== this.#version`) rejected with the session's end error (LOGGED_OUT) at once.
 *
 * Sequence (plain attachRefresh, memory store): tokens { a0, r0 }. logout() (v1, no tokens). GET /poll goes out
 * without a token (v1) and waits for its answer. logout() again (a second "Sign out", v2). /poll's answer: 401.
 * Expected: /poll fails with LOGGED_OUT; no refresh flight, no refreshError event. Passes at 39653ed.
 */
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh, isTokenRefreshError } from '../../src/index.js';

describe('a 401 for a request sent between two logouts', () => {
  it('fails with LOGGED_OUT, without a refresh flight or a refreshError', async () => {
    let answer!: () => void;
    const gate = new Promise<void>((done) => (answer = done));
    let sent = 0;
    const adapter: AxiosAdapter = async (config) => {
      sent += 1;
      await gate;
      throw new AxiosError('Unauthorized', 'ERR_BAD_REQUEST', config, undefined, {
        status: 401,
        statusText: 'Unauthorized',
        headers: {},
        config,
        data: {},
      });
    };
    const api = axios.create({ adapter });
    let refreshes = 0;
    const attached = attachRefresh(api, {
      tokens: { accessToken: 'a0', refreshToken: 'r0' },
      refresh: async () => {
        refreshes += 1;
        return { accessToken: 'a1', refreshToken: 'r1' };
      },
    });
    const errors: string[] = [];
    attached.on('refreshError', (error) => errors.push(error.code));

    await attached.logout();
    const poll = api.get('/poll').then(
      () => 'ok',
      (error: unknown) =>
        isTokenRefreshError(error) ? error.code : `status ${(error as AxiosError).response?.status}`,
    );
    while (sent === 0) await new Promise((done) => setTimeout(done, 0));
    await attached.logout();
    answer();

    const outcome = await poll;
    // Observed: errors ['SESSION_EXPIRED'], outcome 'SESSION_EXPIRED'.
    expect.soft(errors).toEqual([]);
    expect(outcome).toBe('LOGGED_OUT');
    expect(refreshes).toBe(0);
    await attached.close();
  });
});
