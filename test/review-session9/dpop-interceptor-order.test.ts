/**
 * Found (s9 trust review): axios (>= 1.13.5, the version installed here included) lets an app choose the request
 * interceptors' order with `transitional: { legacyInterceptorReqResOrdering: false }`: first registered, first run.
 * The plugin assumes last-registered-first (src/attach.ts `attachRefresh`: "Installed first: its request interceptor
 * runs after ours"; src/dpop.ts `install`). With the other order the DPoP signer runs BEFORE the interceptor that
 * attaches the token, so:
 *
 * - the first attempt goes out with `Authorization: DPoP <token>` and no proof: the API refuses it, and a 401 that a
 *   new token cannot cure spends a refresh (one per request), then the replay's proof is made for the old token
 *   (`ath` of the token the signer saw, replaced afterwards by the new one): refused again. Every request fails.
 * - a session with a DPoP key and Bearer tokens sends the Bearer token without a proof, the very downgrade
 *   docs/dpop.md says never happens ("a request whose tokens are not DPoP-bound fails before it is sent").
 *
 * A fix: sign in the plugin's own request path (after the token is attached), or check `transitional` and sign in
 * `transformRequest` like the send guard; at least refuse (TypeError) an instance whose order is not the legacy one.
 */
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh, type TokenSet } from '../../src/index.js';
import { createDpop } from '../../src/dpop.js';
import { verifyProof } from '../support/dpop-verifier.js';
import { listen, type LocalServer } from '../support/local-server.js';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Arrival {
  readonly authorization: string | undefined;
  readonly proof: 'valid' | 'none' | string;
}

/** An API that accepts `DPoP <token>` for the tokens it issued, with a valid proof for that token (RFC 9449 §7). */
async function dpopApi(valid: Set<string>) {
  const arrivals: Arrival[] = [];
  const seenJtis = new Set<string>();
  const server = await listen((req, res) => {
    void (async () => {
      const authorization = req.headers.authorization;
      const token = authorization?.replace(/^DPoP /i, '');
      let proof: Arrival['proof'] = 'none';
      if (typeof req.headers.dpop === 'string') {
        const result = await verifyProof(req.headers.dpop, {
          method: req.method ?? 'GET',
          url: `${server.url}${req.url}`,
          accessToken: token ?? '',
          seenJtis,
        });
        proof = result.ok ? 'valid' : result.reason;
      }
      arrivals.push({ authorization, proof });
      const ok = /^DPoP /i.test(authorization ?? '') && token !== undefined && valid.has(token) && proof === 'valid';
      res.writeHead(ok ? 200 : 401, ok ? {} : { 'www-authenticate': 'DPoP error="invalid_token"' });
      res.end(ok ? 'ok' : '');
    })();
  });
  servers.push(server);
  return { server, arrivals };
}

const fifo = { legacyInterceptorReqResOrdering: false } as const;

describe('DPoP with axios’s first-registered-first request interceptor order (transitional option)', () => {
  it('signs every request it attaches a token to: three requests, three valid proofs, no refresh', async () => {
    const valid = new Set(['access-1']);
    const { server, arrivals } = await dpopApi(valid);
    const dpop = await createDpop();
    let refreshes = 0;
    const api = axios.create({ baseURL: server.url, transitional: fifo });
    attachRefresh(api, {
      dpop,
      tokens: { accessToken: 'access-1', refreshToken: 'refresh-1', tokenType: 'DPoP' },
      refresh: async (): Promise<TokenSet> => {
        refreshes += 1;
        const accessToken = `access-${refreshes + 1}`;
        valid.add(accessToken);
        return { accessToken, refreshToken: `refresh-${refreshes + 1}`, tokenType: 'DPoP' };
      },
    });
    const statuses: (number | string)[] = [];
    for (const path of ['/a', '/b', '/c']) {
      statuses.push(
        await api.get(path).then(
          (r) => r.status,
          (e: { code?: string }) => e.code ?? 'error',
        ),
      );
    }
    expect(statuses).toEqual([200, 200, 200]);
    expect(refreshes).toBe(0);
    expect(arrivals.map((arrival) => arrival.proof)).toEqual(['valid', 'valid', 'valid']);
  });

  it('never sends a Bearer token from a session that has a DPoP key (no downgrade): the request fails before it is sent', async () => {
    const { server, arrivals } = await dpopApi(new Set());
    const dpop = await createDpop();
    const api = axios.create({ baseURL: server.url, transitional: fifo });
    attachRefresh(api, {
      dpop,
      tokens: { accessToken: 'bearer-1', refreshToken: 'refresh-1', tokenType: 'Bearer' },
      refresh: async () => ({ accessToken: 'bearer-2', refreshToken: 'refresh-2' }),
    });
    const outcome = await api.get('/a').then(
      () => 'sent',
      (error: { code?: string }) => error.code,
    );
    expect(outcome).toBe('CONFIGURATION_ERROR');
    expect(arrivals.map((arrival) => arrival.authorization)).toEqual([]);
  });
});
