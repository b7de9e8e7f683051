/**
 * s9 DPoP break-it review (low).
 * Finding: "a 401 use_dpop_nonce never refreshes" holds only when the adapter hands back lower-case header names.
 * The DPoP interceptor reads `WWW-Authenticate` case-insensitively (AxiosHeaders#get), but the plugin's 401 path
 * reads the exact property `headers['www-authenticate']`. A response whose header is keyed `WWW-Authenticate` (an
 * adapter that does not lower-case: axios-mock-adapter, which apps use to test exactly this, or a custom adapter)
 * is retried once for its nonce by the DPoP interceptor and then, when the retry is challenged again, reads as a 401
 * WITHOUT a challenge to the plugin: a refresh (measured: 1 per request). With `www-authenticate` the same answers
 * cost no refresh.
 * Also seen with axios-mock-adapter: its `request.responseURL` is the relative `config.url`, so `answeredBy` cannot
 * resolve it in Node and the nonce challenge is never retried at all (the fallback to the requested URL only
 * happens when responseURL is missing).
 *
 * Likely cause: src/attach.ts `refreshPredicate` (`error.response?.headers?.['www-authenticate']`) vs src/dpop.ts
 * `header()`; src/dpop.ts `answeredBy` (a relative responseURL is not resolved against the requested URL).
 */
import axios, { type AxiosAdapter } from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';

const future = (): number => Date.now() + 3_600_000;

async function session(headerName: string) {
  const instance = axios.create({ baseURL: 'https://api.example.com' });
  const mock = new MockAdapter(instance);
  let hits = 0;
  mock.onGet('/items').reply(() => {
    hits += 1;
    return [
      401,
      { error: 'use_dpop_nonce' },
      { [headerName]: 'DPoP error="use_dpop_nonce"', 'DPoP-Nonce': `n-${hits}` },
    ];
  });
  // The mock reports the relative config.url as responseURL; give it the absolute URL a browser's XHR reports.
  const mocked = instance.defaults.adapter as AxiosAdapter;
  instance.defaults.adapter = async (config) => {
    const response = await mocked(config).catch((error: { response?: { request?: unknown } }) => {
      if (error.response) error.response.request = { responseURL: instance.getUri(config) };
      throw error;
    });
    return response;
  };
  let refreshes = 0;
  attachRefresh(instance, {
    dpop: await createDpop(),
    tokens: { accessToken: 'at-0', refreshToken: 'rt-0', tokenType: 'DPoP', expiresAt: future() },
    refresh: async () => {
      refreshes += 1;
      return { accessToken: `at-${refreshes}`, tokenType: 'DPoP', expiresAt: future() };
    },
  });
  await instance.get('/items').catch(() => undefined);
  return { hits, refreshes: () => refreshes };
}

describe('a 401 use_dpop_nonce never refreshes, whatever the case of the header name', () => {
  it('answers a lower-case www-authenticate with one nonce retry and no refresh (holds today)', async () => {
    const { hits, refreshes } = await session('www-authenticate');
    expect(hits).toBe(2);
    expect(refreshes()).toBe(0);
  });

  it('answers WWW-Authenticate the same way', async () => {
    const { hits, refreshes } = await session('WWW-Authenticate');
    // Today: 1 refresh, and 3 hits (first send, nonce retry, replay after the refresh).
    expect(refreshes()).toBe(0);
    expect(hits).toBe(2);
  });
});
