/**
 * Found (s9 DPoP review): axios-mock-adapter (how apps test their axios code) reports a relative `responseURL`, so the
 * nonce of a `use_dpop_nonce` challenge was filed under no origin and the request was never sent again with it: the
 * app saw the 401 in its tests. The URL a response came from is now resolved on the URL requested.
 */
import axios from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { expect, it } from 'vitest';
import { createDpop } from '../../src/dpop.js';
import { attachRefresh } from '../../src/index.js';

function claims(proof: string): Record<string, unknown> {
  const payload = proof.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

it('answers a use_dpop_nonce challenge from axios-mock-adapter with the new nonce, without a refresh', async () => {
  const api = axios.create({ baseURL: 'https://api.example.com' });
  const mock = new MockAdapter(api);
  const nonces: unknown[] = [];
  mock.onGet('/data').reply((config) => {
    const nonce = claims(String(config.headers?.['DPoP'])).nonce;
    nonces.push(nonce);
    if (nonce === 'n-1') return [200, { ok: true }];
    return [401, '', { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"', 'DPoP-Nonce': 'n-1' }];
  });
  let refreshes = 0;
  attachRefresh(api, {
    tokens: { accessToken: 'dpop-bound-access', tokenType: 'DPoP', expiresAt: Date.now() + 3_600_000 },
    dpop: await createDpop(),
    refresh: async () => {
      refreshes += 1;
      return { accessToken: 'new-access', tokenType: 'DPoP' };
    },
  });

  const response = await api.get('/data');

  expect(response.data).toEqual({ ok: true });
  expect(nonces).toEqual([undefined, 'n-1']);
  expect(refreshes).toBe(0);
});
