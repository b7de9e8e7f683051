/**
 * Adversarial review of the OAuth side of a login's life (issue 13): discovery, revocation, client credentials and
 * tokenSetFromResponse, against real servers on 127.0.0.1 and a real oidc-provider. Each test states what a user may
 * rely on; the ones that fail on this branch are the findings of the review.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpAgent, createServer as createHttpServer } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer } from 'node:https';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import axios from 'axios';
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh, isTokenRefreshError, refreshTokenGrant, tokenSetFromResponse } from '../src/index.js';
import type { RefreshContext, TokenRefreshError, TokenSet } from '../src/index.js';
import { readBody, testPool } from './support/local-server.js';
import { startOidc } from './support/oidc.js';

const pool = testPool();
const { serve } = pool;
afterEach(async () => {
  await pool.undo();
});

const context = (): RefreshContext => ({ signal: new AbortController().signal, reason: 'expired' });

/** Settles `promise`, or reports that it was still pending after `ms` (so a hang fails the test instead of timing out). */
async function settleWithin<T>(
  work: T | Promise<T>,
  ms: number,
): Promise<{ settled: boolean; value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<{ settled: boolean }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), ms);
  });
  try {
    return await Promise.race([
      Promise.resolve(work).then(
        (value) => ({ settled: true, value }),
        (error: unknown) => ({ settled: true, error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('tokenSetFromResponse: hostile answers and misused options', () => {
  const answer = { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' };

  it('refuses a receivedAt in Unix seconds (the TokenSet it would return is refused by attachRefresh)', () => {
    const receivedAt = Math.floor(Date.now() / 1000);
    let thrown: unknown;
    let tokens: TokenSet | undefined;
    try {
      tokens = tokenSetFromResponse(answer, { receivedAt });
    } catch (error) {
      thrown = error;
    }
    // Today: accepted, expiresAt lands in January 1970, and attachRefresh then says "expiresAt looks like Unix
    // seconds", an option the user never wrote.
    expect({ expiresAt: tokens?.expiresAt, thrown: String(thrown) }).toMatchObject({
      expiresAt: undefined,
      thrown: expect.stringMatching(/TypeError: .*receivedAt.*(seconds|milliseconds)/),
    });
  });

  it('returns a TokenSet that attachRefresh accepts, or fails, for any numeric expires_in (1e308 gives Infinity)', () => {
    let result: TokenSet | TokenRefreshError;
    try {
      result = tokenSetFromResponse({ ...answer, expires_in: 1e308 }, { receivedAt: Date.now() });
    } catch (error) {
      result = error as TokenRefreshError;
    }
    if (isTokenRefreshError(result)) {
      expect(result.code).toBe('INVALID_TOKEN_RESPONSE');
      return;
    }
    const tokens = result;
    expect(Number.isFinite(tokens.expiresAt)).toBe(true);
    expect(() => attachRefresh(axios.create(), { tokens, refresh: () => tokens })).not.toThrow();
  });

  it('never quotes a token of the wrong type in its message (a numeric refresh_token or access_token)', () => {
    const messages: string[] = [];
    for (const body of [
      { ...answer, refresh_token: 918273645546372 },
      { ...answer, access_token: 918273645546372 },
    ]) {
      try {
        tokenSetFromResponse(body, { receivedAt: Date.now() });
      } catch (error) {
        messages.push(String(error));
      }
    }
    expect(messages).toHaveLength(2);
    for (const message of messages) expect(message).not.toContain('918273645546372');
  });
});

describe('discovery: a metadata document that never finishes', () => {
  it('fails a refresh within the grant’s timeoutMs when the metadata trickles in a byte at a time', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"issuer":');
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    });
    const refresh = refreshTokenGrant({ issuer: server.url, clientId: 'app', timeoutMs: 500 });
    const outcome = await settleWithin(refresh({ accessToken: 'at', refreshToken: 'rt' }, context()), 3_000);
    expect(outcome.settled).toBe(true);
    expect((outcome.error as TokenRefreshError | undefined)?.code).toBe('REFRESH_FAILED');
  });

  it('does not keep a stuck discovery for ever: a session that timed out once refreshes once the server is back', async () => {
    let healthy = false;
    let tokenCalls = 0;
    const server = await serve((req, res) => {
      if (req.url === '/token') {
        tokenCalls += 1;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'at-2', token_type: 'Bearer', expires_in: 300 }));
        return;
      }
      if (req.url !== '/.well-known/oauth-authorization-server') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (healthy) {
        res.end(JSON.stringify({ issuer: server.url, token_endpoint: `${server.url}/token` }));
        return;
      }
      res.write('{"issuer":');
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    });
    const api = axios.create();
    const auth = attachRefresh(api, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: Date.now() - 1_000 },
      refresh: refreshTokenGrant({ issuer: server.url, clientId: 'app', timeoutMs: 500 }),
      refreshTimeoutMs: 1_000,
    });
    pool.later(async () => auth.close());
    const first = await settleWithin(auth.getAccessToken(), 3_000);
    expect(first.settled).toBe(true);
    healthy = true;
    const second = await settleWithin(auth.getAccessToken(), 3_000);
    expect({ settled: second.settled, value: second.value, error: String(second.error) }).toEqual({
      settled: true,
      value: 'at-2',
      error: 'undefined',
    });
    expect(tokenCalls).toBe(1);
  });
});

describe('the token endpoint redirects (the refresh token must stay at the configured URL)', () => {
  it('never posts the refresh token or the client secret to the redirect target, whatever the axios adapter', async () => {
    const received: string[] = [];
    const elsewhere = await serve((_req, res, body) => {
      received.push(body);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'at-evil', token_type: 'Bearer', expires_in: 300 }));
    });
    const tokenServer = await serve((_req, res) => {
      res.writeHead(307, { Location: `${elsewhere.url}/steal` }).end();
    });
    const refresh = refreshTokenGrant({
      tokenUrl: `${tokenServer.url}/token`,
      clientId: 'app',
      clientSecret: 'app-secret-0123456789',
      authMethod: 'client_secret_post',
      // The fetch adapter: what edge runtimes and many browser apps use (axios's default in a service worker).
      axios: axios.create({ adapter: 'fetch' }),
    });
    const outcome = await settleWithin(refresh({ accessToken: 'at-1', refreshToken: 'rt-secret-1' }, context()), 5_000);
    expect(received.join('\n')).not.toContain('rt-secret-1');
    expect(received.join('\n')).not.toContain('app-secret-0123456789');
    expect((outcome.error as TokenRefreshError | undefined)?.code).toBe('CONFIGURATION_ERROR');
  });

  it('never posts the tokens to a revocation endpoint’s redirect target with the fetch adapter', async () => {
    const received: string[] = [];
    const elsewhere = await serve((_req, res, body) => {
      received.push(body);
      res.writeHead(200).end();
    });
    const revocationServer = await serve((_req, res) => {
      res.writeHead(308, { Location: `${elsewhere.url}/steal` }).end();
    });
    const refresh = refreshTokenGrant({
      tokenUrl: `${revocationServer.url}/token`,
      revocationUrl: `${revocationServer.url}/revoke`,
      clientId: 'app',
      axios: axios.create({ adapter: 'fetch' }),
    });
    await settleWithin(
      refresh.revoke?.(
        { accessToken: 'at-1', refreshToken: 'rt-secret-2' },
        { signal: new AbortController().signal },
      ) ?? Promise.resolve(),
      5_000,
    );
    expect(received.join('\n')).not.toContain('rt-secret-2');
  });
});

describe('discovery: the issuer as users hold it', () => {
  it('accepts an issuer given as a URL object for a server whose issuer has no trailing slash', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ issuer: server.url, token_endpoint: `${server.url}/token` }));
        return;
      }
      if (req.url === '/token') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'at-2', token_type: 'Bearer', expires_in: 300 }));
        return;
      }
      res.writeHead(404).end();
    });
    // The type says `string | URL`; `new URL('http://host:port').href` always ends in '/'.
    const refresh = refreshTokenGrant({ issuer: new URL(server.url), clientId: 'app' });
    const outcome = await settleWithin(refresh({ accessToken: 'at-1', refreshToken: 'rt-1' }, context()), 5_000);
    expect(String(outcome.error)).toBe('undefined');
    expect((outcome.value as TokenSet | undefined)?.accessToken).toBe('at-2');
  });

  it('docs/login.md Node recipe, followed literally against oidc-provider (issuer without a trailing slash): the first refresh works', async () => {
    const oidc = await startOidc({ accessTokenTtlSeconds: 60 });
    pool.later(() => oidc.close());
    // As in the recipe; the only addition is the flag oauth4webapi needs for http://127.0.0.1.
    const issuer = new URL(oidc.issuer);
    const client: oauth.Client = { client_id: oidc.clients.post.clientId };
    const clientSecret = oidc.clients.post.clientSecret ?? '';
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }),
    );
    expect(as.token_endpoint).toBe(oidc.tokenUrl);
    const login = await oidc.login('post');
    const refresh = refreshTokenGrant({
      issuer: issuer.href,
      clientId: client.client_id,
      clientSecret,
      authMethod: 'client_secret_post',
    });
    const outcome = await settleWithin(
      refresh({ accessToken: login.accessToken, refreshToken: login.refreshToken }, context()),
      10_000,
    );
    expect(String(outcome.error)).toBe('undefined');
    expect((outcome.value as TokenSet | undefined)?.accessToken).toEqual(expect.any(String));
  });
});

describe('the grant’s timeoutMs bounds a trickling token or revocation endpoint', () => {
  const trickle = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"access_token":');
    const timer = setInterval(() => res.write(' '), 100);
    res.on('close', () => clearInterval(timer));
  };

  it('a refresh called directly (no session, no abort) fails with REFRESH_FAILED within timeoutMs', async () => {
    const server = await serve(trickle);
    const refresh = refreshTokenGrant({ tokenUrl: `${server.url}/token`, clientId: 'app', timeoutMs: 500 });
    const outcome = await settleWithin(refresh({ accessToken: 'at', refreshToken: 'rt' }, context()), 3_000);
    expect(outcome.settled).toBe(true);
    expect((outcome.error as TokenRefreshError | undefined)?.code).toBe('REFRESH_FAILED');
  });

  it('revoke(tokens, { signal }) with a signal that never fires gives up within timeoutMs', async () => {
    const server = await serve(trickle);
    const refresh = refreshTokenGrant({
      tokenUrl: `${server.url}/token`,
      revocationUrl: `${server.url}/revoke`,
      clientId: 'app',
      timeoutMs: 500,
    });
    const revoke = refresh.revoke;
    expect(revoke).toBeTypeOf('function');
    const outcome = await settleWithin(
      revoke?.({ accessToken: 'at', refreshToken: 'rt' }, { signal: new AbortController().signal }) ??
        Promise.resolve(),
      3_000,
    );
    expect(outcome.settled).toBe(true);
    expect((outcome.error as TokenRefreshError | undefined)?.code).toBe('REFRESH_FAILED');
  });
});

describe('secrets in errors: a server that echoes the request back', () => {
  it('scrubs the client_secret_basic credentials (the Basic header value) from error_description', async () => {
    const clientSecret = 'S3cr+t/=%&x-0123456789';
    const server = await serve((req, res) => {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'invalid_client', error_description: `bad credentials: ${req.headers.authorization}` }),
      );
    });
    const refresh = refreshTokenGrant({ tokenUrl: `${server.url}/token`, clientId: 'app', clientSecret });
    const outcome = await settleWithin(refresh({ accessToken: 'at-1', refreshToken: 'rt-1' }, context()), 5_000);
    const basic = Buffer.from(`app:${encodeURIComponent(clientSecret)}`).toString('base64');
    const shown = inspect(outcome.error, { depth: 10 });
    expect((outcome.error as TokenRefreshError | undefined)?.code).toBe('CONFIGURATION_ERROR');
    // base64 is not a disguise: whoever reads the log decodes the secret.
    expect(shown).not.toContain(basic);
  });
});

describe('discovery that fails, then succeeds, under a burst of requests', () => {
  it('20 concurrent requests on expired tokens: one metadata fetch fails them all with REFRESH_FAILED; the next request refreshes once', async () => {
    let metadataCalls = 0;
    let tokenCalls = 0;
    const server = await serve((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        metadataCalls += 1;
        if (metadataCalls === 1) {
          res.writeHead(503).end();
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ issuer: server.url, token_endpoint: `${server.url}/token` }));
        return;
      }
      if (req.url === '/token') {
        tokenCalls += 1;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'at-2', token_type: 'Bearer', expires_in: 300 }));
        return;
      }
      res.writeHead(req.headers.authorization === 'Bearer at-2' ? 200 : 401).end();
    });
    const api = axios.create({ baseURL: server.url });
    const auth = attachRefresh(api, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: Date.now() - 1_000 },
      refresh: refreshTokenGrant({ issuer: server.url, clientId: 'app', timeoutMs: 2_000 }),
    });
    pool.later(async () => auth.close());
    const burst = await Promise.allSettled(Array.from({ length: 20 }, () => api.get('/me')));
    const codes = burst.map((r) => (r.status === 'rejected' ? (r.reason as TokenRefreshError).code : 'ok'));
    expect(new Set(codes)).toEqual(new Set(['REFRESH_FAILED']));
    const after = await Promise.allSettled(Array.from({ length: 20 }, () => api.get('/me')));
    expect(after.every((r) => r.status === 'fulfilled')).toBe(true);
    expect({ metadataCalls, tokenCalls }).toEqual({ metadataCalls: 2, tokenCalls: 1 });
  });
});

describe('discovery over https: a redirect that leaves https', () => {
  it('does not trust metadata that reached it over plain http after a redirect from the https issuer', async () => {
    // A TLS-terminating proxy in front of an app that thinks it speaks http answers with `Location: http://…`: the
    // metadata then crosses the network in clear text, and whoever sits on the path can swap the token endpoint.
    const dir = mkdtempSync(join(tmpdir(), 'review-oauth-'));
    pool.later(async () => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=auth.test',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const stolen: string[] = [];
    const httpsServer = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        void readBody(req).then((body) => {
          if (req.url === '/.well-known/oauth-authorization-server') {
            res
              .writeHead(301, { Location: `http://auth.test:${plainPort}/.well-known/oauth-authorization-server` })
              .end();
            return;
          }
          // The token endpoint the attacker put into the metadata (any https host would do).
          if (req.url === '/attacker/token') stolen.push(body);
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ access_token: 'at-evil', token_type: 'Bearer', expires_in: 300 }));
        });
      },
    );
    const plain = createHttpServer((_req, res) => {
      // What the man in the middle serves on the clear-text hop: the right issuer, its own token endpoint.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: `https://auth.test:${httpsPort}`,
          token_endpoint: `https://auth.test:${httpsPort}/attacker/token`,
        }),
      );
    });
    await Promise.all([
      new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve)),
    ]);
    const httpsPort = (httpsServer.address() as { port: number }).port;
    const plainPort = (plain.address() as { port: number }).port;
    for (const server of [httpsServer, plain]) {
      pool.later(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      );
    }
    // auth.test resolves to 127.0.0.1 (a test-only DNS); the self-signed certificate is trusted by this instance.
    const lookup = ((_host: string, options: unknown, callback: unknown) => {
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
      const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
      if (all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as LookupFunction;
    const client = axios.create({
      httpsAgent: new HttpsAgent({ rejectUnauthorized: false, lookup }),
      httpAgent: new HttpAgent({ lookup }),
    });
    const refresh = refreshTokenGrant({ issuer: `https://auth.test:${httpsPort}`, clientId: 'app', axios: client });
    const outcome = await settleWithin(refresh({ accessToken: 'at-1', refreshToken: 'rt-victim' }, context()), 5_000);
    expect(stolen.join('\n')).not.toContain('rt-victim');
    expect((outcome.error as TokenRefreshError | undefined)?.code).toBe('CONFIGURATION_ERROR');
  });
});
