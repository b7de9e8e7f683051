/**
 * Found (s8 review 3, MEDIUM): concurrent 401s no longer share one refresh when the refresh answers the same tokens by
 * value (a server that re-issues the still-valid access token, no expires_in, no rotation: the case
 * test/store-convergence/same-tokens-refresh-keeps-401-mark.test.ts established as supported). Every 401 that
 * arrives after the first refresh finished starts ANOTHER refresh, one token request per straggler.
 *
 * Why: `#adopt` takes the refresh's answer for "the same tokens" (`sameTokens`, by value) and keeps `#tokensSince` at
 * the old version (`Math.min`), although f58a985 decided a refresh's same tokens are issued again (it clears the 401
 * mark for them). `refreshFor(0, 'unauthorized')` then finds version 0 `#inUse` and flies again. At 39653ed the
 * version check (`version !== this.#version`) resolved at once and the straggler was replayed: one refresh.
 *
 * Sequence (plain attachRefresh, memory store): tokens { sf1, R } (no expiresAt). GET /a, /b, /c go out at version 0;
 * a gateway hiccup answers each with 401, /a's first. /a's 401 refreshes: { sf1, R } again, version 1; /a replays, ok.
 * Then /b's 401 arrives: refresh #2; then /c's: refresh #3.
 * Expected: one refresh for the burst (docs: "ONE refresh that all concurrent failures share"), all three ok.
 * Observed: three refreshes. Passes at 39653ed.
 */
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('concurrent 401s, refresh answering the same tokens by value', () => {
  it('share one refresh: a 401 arriving after it finished is replayed, not refreshed again', async () => {
    const reasons: string[] = [];
    const refresh = async (current: TokenSet, context: { reason?: string }): Promise<TokenSet> => {
      reasons.push(String(context.reason));
      return { accessToken: current.accessToken ?? 'sf1', refreshToken: current.refreshToken ?? 'R' };
    };
    // The first attempt of each request is answered 401 when its gate opens; replays are answered ok.
    const gates = new Map<string, { promise: Promise<void>; resolve: () => void }>();
    for (const path of ['/a', '/b', '/c']) gates.set(path, deferred());
    const seen = new Set<string>();
    const adapter: AxiosAdapter = async (config) => {
      const path = String(config.url);
      if (!seen.has(path)) {
        seen.add(path);
        await gates.get(path)?.promise;
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

    const a = api.get('/a');
    const b = api.get('/b');
    const c = api.get('/c');
    while (seen.size < 3) await new Promise((done) => setTimeout(done, 0)); // all three sent at version 0
    gates.get('/a')?.resolve();
    expect((await a).data).toBe('ok'); // 401, refresh, replay
    gates.get('/b')?.resolve();
    expect((await b).data).toBe('ok');
    gates.get('/c')?.resolve();
    expect((await c).data).toBe('ok');

    // Observed: ['unauthorized', 'unauthorized', 'unauthorized'].
    expect(reasons).toEqual(['unauthorized']);
    await attached.close();
  });
});
