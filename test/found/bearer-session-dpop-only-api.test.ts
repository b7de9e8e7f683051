/**
 * s9 DPoP break-it review.
 * Finding: a Bearer session (no `dpop`) whose API accepts only DPoP (RFC 9449 §7.1: its 401 carries a `DPoP`
 * challenge and none for `Bearer`) spends refresh after refresh: every request refreshes, is replayed, is refused
 * again and marks the token refused, so the next request refreshes first and then once more. Measured: 10 requests,
 * 19 refreshes, and the app only ever sees a bare 401. A new Bearer token cannot pass a server that offers no Bearer
 * challenge, just as a new token cannot cure `use_dpop_nonce` (which never refreshes); the package names the other
 * direction (DPoP tokens from a Bearer grant, Bearer tokens in a DPoP session) as CONFIGURATION_ERROR, but not this
 * one, where the API (not the token endpoint) is the one that wants DPoP.
 *
 * Likely cause: src/challenge.ts `challengeAllowsRefresh` reads only the challenge of the scheme in use, and a header
 * with no challenge for it counts as "no challenge" (refresh), even when it holds challenges for other schemes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const future = (): number => Date.now() + 3_600_000;

describe('a Bearer session against an API that accepts only DPoP', () => {
  it('does not refresh on a 401 whose only challenge is DPoP: a new Bearer token cannot pass it', async () => {
    let apiRequests = 0;
    const server = createServer((_req, res) => {
      apiRequests += 1;
      // RFC 9449 §7.1's example answer of a DPoP-only resource server.
      res
        .writeHead(401, {
          'WWW-Authenticate': 'DPoP error="invalid_token", algs="ES256"',
          'Content-Type': 'text/plain',
        })
        .end('DPoP required');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const instance = axios.create({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    let refreshes = 0;
    attachRefresh(instance, {
      tokens: { accessToken: 'at-0', refreshToken: 'rt-0', expiresAt: future() },
      refresh: async () => {
        refreshes += 1;
        return { accessToken: `at-${refreshes}`, refreshToken: `rt-${refreshes}`, expiresAt: future() };
      },
    });

    const outcomes: unknown[] = [];
    for (let i = 0; i < 10; i += 1) outcomes.push(await instance.get(`/items/${i}`).catch((error: unknown) => error));

    expect(outcomes.every((outcome) => outcome instanceof Error)).toBe(true);
    // Today: 19 refreshes and 20 API requests.
    expect(refreshes).toBe(0);
    expect(apiRequests).toBe(10);
  });
});
