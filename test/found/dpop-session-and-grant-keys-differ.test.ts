/**
 * s9 DPoP break-it review.
 * Finding: `attachRefresh` / `createTokenSession` accept a session `dpop` and a grant `dpop` that are two different
 * keys, although docs/dpop.md ("Give both the same key") needs them to be one: the grant's tokens are bound to the
 * grant's key and the API proofs are signed with the session's. Nothing checks it, and the cost shows up only later,
 * against a real server (measured with test/support/oidc-dpop.ts, oidc-provider, nonces required):
 * - public client: the first refresh presents the refresh token (bound to the login key) with the grant's key:
 *   `invalid_grant`, SESSION_EXPIRED, the login is gone; the message says the token was "expired, revoked or already
 *   used".
 * - confidential client: every refresh succeeds, every API request is refused (token bound to the grant key, proof
 *   from the session key: 401 invalid_token), and each costs two refreshes: 6 requests, 12 refreshes, all 401.
 * Easy to write: `attachRefresh(api, { dpop: await createDpop(), refresh: refreshTokenGrant({ …, dpop: await
 * createDpop() }) })`. Both keys are known at set-up, so the mismatch can be refused there, like the other
 * set-up mistakes the package names (a TypeError naming the option).
 *
 * Likely cause: src/session.ts `Session` constructor takes the grant's `dpop` only when the session has none
 * (`options.dpop ??= grant.dpop`) and never compares the two when both are given.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { refreshTokenGrant } from '../../src/oauth2.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('the session’s DPoP key and its grant’s', () => {
  it('refuses, at set-up, a session dpop and a grant dpop that are different keys', async () => {
    let tokenCalls = 0;
    const server = createServer((_req, res) => {
      tokenCalls += 1;
      res.writeHead(500).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sessionKey = await createDpop();
    const grantKey = await createDpop();
    expect(sessionKey.thumbprint).not.toBe(grantKey.thumbprint);

    const attach = () =>
      attachRefresh(axios.create({ baseURL: origin }), {
        tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: Date.now() + 3_600_000 },
        dpop: sessionKey,
        refresh: refreshTokenGrant({
          tokenUrl: `${origin}/token`,
          clientId: 'app',
          authMethod: 'none',
          dpop: grantKey,
          allowInsecureHttp: true,
        }),
      });

    // Today: accepted; tokens from the grant are then bound to a key the API requests never sign with.
    expect(attach).toThrow(TypeError);
    expect(attach).toThrow(/dpop/);
    expect(tokenCalls).toBe(0);
  });
});
