/**
 * Adversarial review of DPoP (issue 11): each test states the behaviour a user needs; failing ones are findings.
 */
import axios, { type AxiosError } from 'axios';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../src/attach.js';
import { createDpop } from '../src/dpop.js';
import { isTokenRefreshError } from '../src/errors.js';
import { refreshTokenGrant } from '../src/oauth2.js';
import { listen, readBody, sendJson, type LocalServer } from './support/local-server.js';

const claimsOf = (proof: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LocalServer> {
  const server = await listen(handler);
  servers.push(server);
  return server;
}
const future = () => Date.now() + 3_600_000;

describe('htu of a proof (RFC 9449 §4.2, RFC 9110 §4.2.4)', () => {
  it('never carries the userinfo of the URL (a password would go into every proof, and htu would not match)', async () => {
    const dpop = await createDpop();
    const proof = await dpop.proof({ method: 'GET', url: 'https://user:s3cret@api.example.com/x?q=1#f' });
    expect(claimsOf(proof)['htu']).toBe('https://api.example.com/x');
  });
});

describe('privateJwk that cannot be imported', () => {
  it('is a TypeError naming `privateJwk`, not a bare DataError', async () => {
    const source = await createDpop({ extractable: true });
    const jwk = await source.exportPrivateJwk();
    const other = await (await createDpop({ extractable: true })).exportPrivateJwk();
    // x and y of another key: the members are all there, but they do not belong together.
    await expect(createDpop({ privateJwk: { ...jwk, x: other.x } })).rejects.toThrow(TypeError);
    await expect(createDpop({ privateJwk: { ...jwk, x: other.x } })).rejects.toThrow(/privateJwk/);
  });
});

describe('a DPoP proof goes only where the token goes', () => {
  it('drops the DPoP proof with the token on a redirect out of scope (as the send guard does)', async () => {
    const seen: Array<string | undefined> = [];
    const other = await serve((req, res) => {
      seen.push(req.headers['dpop'] as string | undefined);
      sendJson(res, 200, { ok: true });
    });
    const api = await serve((_req, res) => {
      res.writeHead(302, { location: `${other.url}/landing` });
      res.end();
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() },
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP', expiresAt: future() }),
      dpop,
    });
    await instance.get('/start');
    expect(seen).toEqual([undefined]);
  });
});

describe('a nonce challenge (401 use_dpop_nonce) on a request whose body is a stream', () => {
  it('never sends the consumed stream again as an empty body: it fails with REQUEST_NOT_REPLAYABLE', async () => {
    const bodies: string[] = [];
    const api = await serve(async (req, res) => {
      bodies.push(await readBody(req));
      const claims = claimsOf(String(req.headers['dpop']));
      if (claims['nonce'] !== 'n-1') {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n-1' });
        res.end();
        return;
      }
      sendJson(res, 201, { stored: bodies.at(-1)?.length });
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api.url, timeout: 3_000 });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() },
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP', expiresAt: future() }),
      dpop,
    });
    const result = await instance.post('/upload', Readable.from([Buffer.from('the whole file')])).catch((e: unknown) => e);
    // Today: HTTP 201 for an upload the server stored as 0 bytes (bodies: ['the whole file', '']).
    expect(bodies.filter((body) => body === '')).toEqual([]);
    expect(isTokenRefreshError(result) && result.code).toBe('REQUEST_NOT_REPLAYABLE');
  });
});

describe('the nonce cache is per origin (RFC 9449 §8)', () => {
  it('does not file a nonce sent by a redirect target under the origin that redirected', async () => {
    const other = await serve((_req, res) => sendJson(res, 200, { ok: true }, { 'dpop-nonce': 'from-the-other-origin' }));
    const api = await serve((_req, res) => {
      res.writeHead(302, { location: `${other.url}/landing` });
      res.end();
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() },
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP', expiresAt: future() }),
      dpop,
    });
    await instance.get('/start');
    expect(dpop.nonce(api.url)).toBeUndefined();
  });
});

describe('tokens and the session disagree on DPoP', () => {
  it('refuses DPoP tokens given to a session without `dpop` (every request would go out without a proof)', () => {
    const instance = axios.create({ baseURL: 'https://api.example.com' });
    expect(() =>
      attachRefresh(instance, {
        tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() },
        refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP', expiresAt: future() }),
      }),
    ).toThrow(/dpop/i);
  });

  it('refuses Bearer tokens given to a session with `dpop` (they would go out as Bearer: a silent downgrade)', async () => {
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: 'https://api.example.com' });
    expect(() =>
      attachRefresh(instance, {
        tokens: { accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: future() },
        refresh: async () => ({ accessToken: 'at-2', expiresAt: future() }),
        dpop,
      }),
    ).toThrow(/tokenType|DPoP/);
  });

  it('refreshes once, not on every request, when the grant has `dpop` but the session does not', async () => {
    let refreshes = 0;
    let apiCalls = 0;
    const auth = await serve(async (req, res) => {
      await readBody(req);
      refreshes += 1;
      sendJson(res, 200, { access_token: `at-${refreshes + 1}`, refresh_token: `rt-${refreshes + 1}`, token_type: 'DPoP', expires_in: 3600 });
    });
    const api = await serve((req, res) => {
      apiCalls += 1;
      // A resource server refuses a DPoP token without a proof.
      if (req.headers['dpop'] === undefined) {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="invalid_token", algs="ES256"' });
        res.end();
        return;
      }
      sendJson(res, 200, { ok: true });
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api.url });
    const errors: unknown[] = [];
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() },
      refresh: refreshTokenGrant({ tokenUrl: `${auth.url}/token`, clientId: 'app', authMethod: 'none', dpop }),
    });
    for (let i = 0; i < 3; i += 1) errors.push(await instance.get('/r').catch((e: unknown) => e));
    // The mismatch must surface as CONFIGURATION_ERROR at the latest on the first refresh, not burn one per request.
    expect(refreshes).toBeLessThanOrEqual(1);
    expect(errors.some((e) => isTokenRefreshError(e) && e.code === 'CONFIGURATION_ERROR')).toBe(true);
  });
});
