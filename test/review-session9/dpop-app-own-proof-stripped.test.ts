/**
 * Found (s9 review3 of f057ff7): a request the plugin leaves alone loses the app's own `DPoP` header. README: "Can one
 * request carry its own Authorization header? Mark it `{ skipAuthRefresh: true }` and set the header yourself";
 * docs/api.md: a `refresh` that goes through the attached instance marks its request `skipAuthRefresh`; docs/dpop.md:
 * `dpop.proof()` makes a proof "for your own login request say". On a DPoP instance the request interceptor
 * (src/dpop.ts signing → signRequest) deletes every `DPoP` header of a request it did not attach a token to, the app's
 * own proof included: the token request of a custom DPoP `refresh` (or a login's code exchange) through the instance
 * goes out without its proof, and the server refuses it (`invalid_dpop_proof`) or issues Bearer tokens. The deletion
 * was meant for the plugin's own stale proof on a re-sent config (997b452); at c4b72cd the app's header was kept.
 */
import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { readBody, sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();
const tokens = (n: number) => ({
  accessToken: `at-${n}`,
  refreshToken: `rt-${n}`,
  tokenType: 'DPoP',
  expiresAt: Date.now() + 3_600_000,
});

describe("a request the plugin leaves alone keeps the app's own DPoP header", () => {
  it('skipAuthRefresh with Authorization and DPoP set by the app (README: set the header yourself)', async () => {
    const seen: Array<{ auth?: string | undefined; dpop?: string | undefined }> = [];
    const api = await serve(async (req, res) => {
      await readBody(req);
      seen.push({ auth: req.headers.authorization, dpop: req.headers['dpop'] as string | undefined });
      sendJson(res, 200, { ok: true });
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api.url });
    const auth = attachRefresh(instance, { tokens: tokens(1), refresh: async () => tokens(2), dpop });
    const own = await dpop.proof({ method: 'GET', url: `${api.url}/other`, accessToken: 'own-token' });
    await instance.get('/other', {
      skipAuthRefresh: true,
      headers: { Authorization: 'DPoP own-token', DPoP: own },
    });
    auth.detach();
    expect(seen).toEqual([{ auth: 'DPoP own-token', dpop: own }]);
  });

  it('a custom DPoP refresh through the attached instance (docs/api.md: mark it skipAuthRefresh) keeps its proof', async () => {
    const tokenRequests: Array<string | undefined> = [];
    const server = await serve(async (req, res) => {
      await readBody(req);
      if (req.url === '/token') {
        tokenRequests.push(req.headers['dpop'] as string | undefined);
        // A DPoP authorization server refuses a token request without a proof (RFC 9449 §5).
        if (req.headers['dpop'] === undefined) return sendJson(res, 400, { error: 'invalid_dpop_proof' });
        return sendJson(res, 200, { access_token: 'at-2', token_type: 'DPoP', expires_in: 3600 });
      }
      if (req.headers.authorization === 'DPoP at-1') {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="invalid_token"' });
        return res.end();
      }
      sendJson(res, 200, { ok: true });
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: server.url });
    const auth = attachRefresh(instance, {
      tokens: tokens(1),
      dpop,
      refresh: async ({ refreshToken }) => {
        const url = `${server.url}/token`;
        const { data } = await instance.post(
          '/token',
          new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(refreshToken) }),
          { skipAuthRefresh: true, headers: { DPoP: await dpop.proof({ method: 'POST', url }) } },
        );
        return { accessToken: data.access_token, tokenType: data.token_type, expiresAt: Date.now() + 3_600_000 };
      },
    });
    const response = await instance.get('/data').catch((error: unknown) => error);
    auth.detach();
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]).toEqual(expect.any(String));
    expect((response as { status?: number }).status).toBe(200);
  });
});
