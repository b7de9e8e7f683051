/**
 * Session 7 review (h1, medium). Finding: when the token endpoint rotates the refresh token but its answer is refused (INVALID_TOKEN_RESPONSE: here
 * no `token_type`, as some servers omit it; the same happens for a bad `expires_in`, `scope`, `id_token`, or the
 * CONFIGURATION_ERROR of a token_type mismatch), the plugin throws the whole answer away, new refresh token included,
 * and "keeps" the tokens it had. Those hold the refresh token the server has just consumed: the next request presents
 * it a second time, and oidc-provider's reuse detection revokes the whole login (SESSION_EXPIRED). The README promises
 * "It never presents a rotated refresh token twice"; docs/errors.md says INVALID_TOKEN_RESPONSE leaves the tokens
 * "Kept." as if they were still good.
 *
 * Real parts: oidc-provider (rotation + reuse detection) behind a node:http gateway on 127.0.0.1 that drops
 * `token_type` from the answer.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh, refreshTokenGrant } from '../../src/index.js';
import type { TokenRefreshError } from '../../src/index.js';
import { listen } from '../support/local-server.js';
import { startOidc } from '../support/oidc.js';
import type { OidcHarness } from '../support/oidc.js';

let oidc: OidcHarness;
let gateway: ReturnType<typeof createServer>;
let gatewayUrl = '';

beforeAll(async () => {
  oidc = await startOidc({ accessTokenTtlSeconds: 60 });
  gateway = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      void axios
        .post<string>(oidc.tokenUrl, body, {
          headers: { 'Content-Type': String(req.headers['content-type']) },
          responseType: 'text',
          transformResponse: [(data: unknown) => data],
          validateStatus: () => true,
        })
        .then((upstream) => {
          const json = JSON.parse(upstream.data) as Record<string, unknown>;
          delete json['token_type']; // a server (or gateway) that leaves it out
          res.writeHead(upstream.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(json));
        });
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/token`;
});

afterAll(async () => {
  await new Promise((resolve) => gateway.close(resolve));
  await oidc.close();
});

describe('a rotated refresh token in an answer the plugin refuses', () => {
  it('is never followed by the spent refresh token being presented again', async () => {
    const login = await oidc.login('none');
    const api = axios.create({ baseURL: oidc.apiUrl });
    const auth = attachRefresh(api, {
      tokens: { refreshToken: login.refreshToken }, // resume from a saved refresh token (the EVE recipe)
      refresh: refreshTokenGrant({ tokenUrl: gatewayUrl, clientId: oidc.clients.none.clientId }),
    });
    const codes: string[] = [];
    auth.on('refreshError', (error: TokenRefreshError) => codes.push(error.code));

    await api.get('/me').catch(() => undefined); // INVALID_TOKEN_RESPONSE: "tokens kept"
    await api.get('/me').catch(() => undefined); // the next request, as docs/errors.md says ("next request recovers")

    expect(codes[0]).toBe('INVALID_TOKEN_RESPONSE');
    // What happened: the second refresh presented the consumed token, oidc-provider revoked the grant, and the
    // session ended (codes: ['INVALID_TOKEN_RESPONSE', 'SESSION_EXPIRED']).
    expect(oidc.refreshTokensPresentedTwice()).toEqual([]);
    expect(oidc.stats.revokedGrants).toEqual([]);
    expect(codes).not.toContain('SESSION_EXPIRED');
  });
});

describe('a rotated refresh token in what a refresh function of the app returned, refused', () => {
  it('is kept and saved (onTokens), the error still reaches the request, and the next refresh presents it', async () => {
    const presented: (string | undefined)[] = [];
    const saved: (string | undefined)[] = [];
    let calls = 0;
    const server = await listen((req, res) => {
      const ok = req.headers.authorization === 'Bearer at-2';
      res.writeHead(ok ? 200 : 401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    });
    try {
      const api = axios.create({ baseURL: server.url, adapter: 'http' });
      const auth = attachRefresh(api, {
        tokens: { accessToken: 'at-0', refreshToken: 'rt-0' },
        refresh: async (current) => {
          presented.push(current.refreshToken);
          calls += 1;
          // The vendor rotated, but the app's mapping gives Unix seconds the first time: refused.
          return calls === 1
            ? { accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: 1_900_000_000 }
            : { accessToken: 'at-2', refreshToken: 'rt-2' };
        },
        onTokens: (tokens) => {
          saved.push(tokens?.refreshToken);
        },
      });
      const first = await api.get('/x').catch((error: unknown) => error);
      expect(first).toMatchObject({ code: 'INVALID_TOKEN_RESPONSE' });
      expect(String((first as Error).message)).not.toMatch(/rt-1|at-1/);
      expect(auth.getTokens()).toEqual({ accessToken: 'at-0', refreshToken: 'rt-1' });
      expect(saved).toEqual(['rt-1']);
      expect((await api.get('/x')).status).toBe(200);
      expect(presented).toEqual(['rt-0', 'rt-1']);
    } finally {
      await server.close();
    }
  });
});
