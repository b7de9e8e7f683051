/**
 * Review: where do tokens and secrets go (OAuth side and the request path). Each test states what a user relies on;
 * real servers on 127.0.0.1 (two ports are two origins), the real axios adapters.
 */
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh, clientCredentialsGrant, discover, refreshTokenGrant } from '../src/index.js';
import type { RefreshContext, TokenSet } from '../src/index.js';
import { createDpop } from '../src/dpop.js';
import { testPool } from './support/local-server.js';

const pool = testPool();
const { serve } = pool;
afterEach(async () => {
  await pool.undo();
});

const context = (): RefreshContext => ({ signal: new AbortController().signal, reason: 'expired' });

interface Seen {
  readonly url: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
}

/** A server that records every request and answers `answer` (a token answer by default). */
async function recorder(answer: unknown = { access_token: 'at-new', token_type: 'Bearer', expires_in: 300 }) {
  const seen: Seen[] = [];
  const server = await serve((req, res, body) => {
    seen.push({ url: req.url, authorization: req.headers.authorization, body });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
  return { server, seen, text: () => JSON.stringify(seen) };
}

describe('the grant sent through the app instance (docs: "when you pass the instance the plugin is attached to")', () => {
  it('posts the refresh token and client secret to tokenUrl, not to the API, when the API instance has allowAbsoluteUrls: false', async () => {
    const api = await recorder({ ok: true });
    const auth = await recorder();
    // A hardened API instance: every request stays on baseURL (axios >= 1.8), the documented use of the option.
    const instance = axios.create({ baseURL: api.server.url, allowAbsoluteUrls: false });
    const refresh = refreshTokenGrant({
      tokenUrl: `${auth.server.url}/token`,
      clientId: 'app',
      clientSecret: 'client-secret-AAA111',
      authMethod: 'client_secret_post',
      axios: instance,
    });
    const outcome = await Promise.resolve(
      refresh({ accessToken: 'at-1', refreshToken: 'rt-secret-AAA' }, context()),
    ).then(
      (tokens) => ({ tokens }),
      (error: unknown) => ({ error }),
    );
    expect(api.text()).not.toContain('rt-secret-AAA');
    expect(api.text()).not.toContain('client-secret-AAA111');
    expect(auth.seen).toHaveLength(1);
    expect((outcome as { tokens?: TokenSet }).tokens?.accessToken).toBe('at-new');
  });

  it('client credentials: the client secret never goes to the API instance’s baseURL (allowAbsoluteUrls: false)', async () => {
    const api = await recorder({ ok: true });
    const auth = await recorder();
    const instance = axios.create({ baseURL: api.server.url, allowAbsoluteUrls: false });
    const grant = clientCredentialsGrant({
      tokenUrl: `${auth.server.url}/token`,
      clientId: 'svc',
      clientSecret: 'client-secret-BBB222',
      axios: instance,
    });
    await Promise.resolve(grant(null as unknown as TokenSet, context())).catch(() => undefined);
    const basic = Buffer.from('svc:client-secret-BBB222').toString('base64');
    expect(api.text()).not.toContain(basic);
    expect(auth.seen).toHaveLength(1);
  });

  it('sends the client’s own Basic credentials, not the instance’s `auth` (API password) to the token endpoint', async () => {
    const auth = await recorder();
    const instance = axios.create({ auth: { username: 'api-user', password: 'api-password-CCC' } });
    const refresh = refreshTokenGrant({
      tokenUrl: `${auth.server.url}/token`,
      clientId: 'app',
      clientSecret: 'client-secret-CCC333',
      axios: instance,
    });
    await Promise.resolve(refresh({ accessToken: 'at-1', refreshToken: 'rt-1' }, context())).catch(() => undefined);
    const apiBasic = `Basic ${Buffer.from('api-user:api-password-CCC').toString('base64')}`;
    const clientBasic = `Basic ${Buffer.from('app:client-secret-CCC333').toString('base64')}`;
    expect(auth.seen.map((s) => s.authorization)).toEqual([clientBasic]);
    expect(auth.text()).not.toContain(apiBasic.slice(6));
  });
});

describe('instance defaults of the API instance passed as `axios` stay off the token request', () => {
  it('does not append the API instance’s default `params` (an API key) to the token endpoint URL', async () => {
    const auth = await recorder();
    const instance = axios.create({ params: { api_key: 'api-key-EEE555' } });
    const refresh = refreshTokenGrant({ tokenUrl: `${auth.server.url}/token`, clientId: 'app', axios: instance });
    await Promise.resolve(refresh({ accessToken: 'at-1', refreshToken: 'rt-1' }, context())).catch(() => undefined);
    expect(auth.seen.map((s) => s.url)).toEqual(['/token']);
  });

  it('discover() reads the metadata from the issuer, not from the instance’s baseURL (allowAbsoluteUrls: false)', async () => {
    const api = await recorder({ issuer: 'x' });
    const issuer = await serve((req, res) => {
      res.writeHead(req.url === '/.well-known/oauth-authorization-server' ? 200 : 404, {
        'Content-Type': 'application/json',
      });
      res.end(JSON.stringify({ issuer: issuer.url, token_endpoint: `${issuer.url}/token` }));
    });
    const instance = axios.create({ baseURL: api.server.url, allowAbsoluteUrls: false });
    const outcome = await discover(issuer.url, { axios: instance }).then(
      (metadata) => metadata.token_endpoint,
      (error: unknown) => String(error),
    );
    expect(api.seen).toEqual([]);
    expect(outcome).toBe(`${issuer.url}/token`);
  });
});

describe('a request the plugin signed, redirected to another origin, with the fetch adapter in Node', () => {
  // docs/dpop.md: fetch drops the token on a redirect to another origin and sends the proof on, which is useless
  // there (signed for the first URL and a token the other origin does not have).
  it('carries no token to the other origin, and the proof it carries names the first URL', async () => {
    const elsewhere: Array<Record<string, unknown>> = [];
    const evil = await serve((req, res) => {
      elsewhere.push({ ...req.headers });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
    const api = await serve((_req, res) => {
      res.writeHead(307, { Location: `${evil.url}/collect` }).end();
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api.url, adapter: 'fetch' });
    const auth = attachRefresh(instance, {
      tokens: { accessToken: 'at-dpop-DDD', tokenType: 'DPoP', expiresAt: Date.now() + 3_600_000 },
      refresh: () => Promise.reject(new Error('no refresh expected')),
      dpop,
    });
    pool.later(() => auth.close());
    await instance.get('/items').catch(() => undefined);
    expect(elsewhere).toHaveLength(1);
    expect(JSON.stringify(elsewhere)).not.toContain('at-dpop-DDD');
    const proof = String(elsewhere[0]?.['dpop']).split('.')[1] ?? '';
    expect(JSON.parse(Buffer.from(proof, 'base64url').toString()).htu).toBe(`${api.url}/items`);
  });
});

describe('an answer XHR fetched from another place than the one asked (XHR is the last resort where fetch is missing)', () => {
  /** An instance whose adapter answers `body` with XHR's `request.responseURL` set to `responseURL`. */
  const answering = (body: unknown, responseURL: (asked: string) => string) =>
    axios.create({
      adapter: async (config) => ({
        data: JSON.stringify(body),
        status: 200,
        statusText: 'OK',
        headers: { 'content-type': 'application/json' },
        config,
        request: { responseURL: responseURL(String(config.url)) },
      }),
    });
  const issuer = 'https://AUTH.example.com:443';
  const metadata = { issuer: 'https://auth.example.com', token_endpoint: 'https://auth.example.com/token' };

  it('metadata from the place asked is taken, however the URL was written (case, default port, a query)', async () => {
    const found = await discover(issuer, { axios: answering(metadata, (asked) => `${asked.toLowerCase()}?x=1`) });
    expect(found.token_endpoint).toBe('https://auth.example.com/token');
  });

  it('metadata from another place is refused (CONFIGURATION_ERROR): it would choose where the refresh token goes', async () => {
    const error = await discover(issuer, { axios: answering(metadata, () => 'https://evil.example/metadata') }).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect(String(error)).toContain('a redirect, not followed');
  });

  it('a token answer is taken wherever XHR got it: the request got there anyway, and its tokens may be the only good ones now', async () => {
    const tokens = { access_token: 'at-new', refresh_token: 'rt-rotated', token_type: 'Bearer', expires_in: 300 };
    const refresh = refreshTokenGrant({
      tokenUrl: 'http://auth.example.com/token',
      allowInsecureHttp: true,
      clientId: 'app',
      axios: answering(tokens, () => 'https://auth.example.com/token'),
    });
    expect((await refresh({ accessToken: 'at-1', refreshToken: 'rt-1' }, context())).refreshToken).toBe('rt-rotated');
  });
});
