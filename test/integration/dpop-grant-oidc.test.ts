import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpop } from '../../src/dpop.js';
import { isTokenRefreshError } from '../../src/errors.js';
import { refreshTokenGrant } from '../../src/oauth2.js';
import type { TokenRefreshError } from '../../src/errors.js';
import { startOidcDpop, type OidcDpopHarness } from '../support/oidc-dpop.js';

const context = () => ({ signal: new AbortController().signal, reason: 'manual' as const });

async function failure(promise: unknown): Promise<TokenRefreshError> {
  try {
    await promise;
  } catch (error) {
    if (isTokenRefreshError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('refreshTokenGrant({ dpop }) against oidc-provider with DPoP nonces required', () => {
  let oidc: OidcDpopHarness;
  beforeAll(async () => {
    oidc = await startOidcDpop();
  });
  afterAll(() => oidc.close());

  it.each(['public', 'confidential'] as const)(
    "answers the token endpoint's use_dpop_nonce once and gets a DPoP-bound token (%s client)",
    async (client) => {
      const dpop = await createDpop();
      const login = await oidc.login(client, dpop.thumbprint);
      const calls = oidc.stats.tokenCalls.length;
      const refresh = refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...oidc.clients[client], dpop });
      const first = await refresh(login, context());
      expect(first.tokenType).toBe('DPoP');
      const second = await refresh(first, context());
      expect(second.refreshToken).not.toBe(first.refreshToken);
      const made = oidc.stats.tokenCalls.slice(calls);
      // The first proof had no nonce: one 400 use_dpop_nonce, then the nonce it carried is remembered.
      expect(made.map((call) => call.error ?? call.status)).toEqual(['use_dpop_nonce', 200, 200]);
      expect(oidc.spentRefreshTokensPresented()).toEqual([]);
    },
  );

  it("is SESSION_EXPIRED when a public client's refresh token is presented with another key", async () => {
    const dpop = await createDpop();
    const other = await createDpop();
    const login = await oidc.login('public', dpop.thumbprint);
    const refresh = refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...oidc.clients.public, dpop: other });
    const error = await failure(refresh(login, context()));
    expect(error.code).toBe('SESSION_EXPIRED');
    expect(error.oauthError).toBe('invalid_grant');
  });
});
