import type { IncomingHttpHeaders } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  clientCredentialsGrant,
  discover,
  isTokenRefreshError,
  refreshTokenGrant,
  tokenSetFromResponse,
} from '../src/index.js';
import type { RefreshContext, RefreshFunction, TokenRefreshError, TokenSet } from '../src/index.js';
import { listen, readBody } from './support/local-server.js';
import type { LocalServer } from './support/local-server.js';

/** One request as the server received it. */
interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly params: URLSearchParams;
}

interface Reply {
  readonly status?: number;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  /** Never answer. */
  readonly hang?: boolean;
  /** Answer after this many milliseconds. */
  readonly delayMs?: number;
}

/** An authorization server on 127.0.0.1: each path answers what its handler says; every request is recorded. */
interface AuthServer {
  readonly origin: string;
  readonly requests: Recorded[];
  /** The requests to one path. */
  to(path: string): Recorded[];
}

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function authServer(
  routes: (origin: string) => Record<string, (request: Recorded) => Reply>,
): Promise<AuthServer> {
  const requests: Recorded[] = [];
  let table: Record<string, (request: Recorded) => Reply> = {};
  const server = await listen((req, res) => {
    void readBody(req).then((body) => {
      const recorded: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        params: new URLSearchParams(body),
      };
      requests.push(recorded);
      const handler = Object.hasOwn(table, recorded.path) ? table[recorded.path] : undefined;
      const reply: Reply = handler ? handler(recorded) : { status: 404, body: 'not found' };
      if (reply.hang) return;
      const answer = (): void => {
        res.writeHead(reply.status ?? 200, {
          'Content-Type': typeof reply.body === 'string' ? 'text/plain' : 'application/json',
        });
        res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {}));
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  servers.push(server);
  table = routes(server.url);
  return { origin: server.url, requests, to: (path) => requests.filter((r) => r.path === path) };
}

const issued = (extra: Record<string, unknown> = {}): Reply => ({
  body: { access_token: 'at-new', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-new', ...extra },
});

const context = (): RefreshContext => ({ signal: new AbortController().signal, reason: 'unauthorized' });

async function failureOf(promise: unknown): Promise<TokenRefreshError> {
  try {
    await promise;
  } catch (error) {
    expect(isTokenRefreshError(error)).toBe(true);
    return error as TokenRefreshError;
  }
  throw new Error('expected a failure');
}

function everyRendering(error: Error): string {
  return [
    error.message,
    String(error),
    error.stack ?? '',
    JSON.stringify(error),
    inspect(error, { depth: Infinity }),
  ].join('\n');
}

const revokeOf = (refresh: RefreshFunction): NonNullable<RefreshFunction['revoke']> => {
  expect(refresh.revoke).toBeTypeOf('function');
  return refresh.revoke as NonNullable<RefreshFunction['revoke']>;
};

describe('tokenSetFromResponse(data, { receivedAt })', () => {
  it('counts expires_in from receivedAt and keeps scope, id_token and the other members', () => {
    const tokens = tokenSetFromResponse(
      {
        access_token: 'at',
        token_type: 'bearer',
        expires_in: 300,
        refresh_token: 'rt',
        scope: 'openid api',
        id_token: 'idt',
        refresh_expires_in: 1800,
      },
      { receivedAt: 1_700_000_000_000 },
    );
    expect(tokens).toEqual({
      accessToken: 'at',
      tokenType: 'Bearer',
      refreshToken: 'rt',
      expiresAt: 1_700_000_300_000,
      scope: 'openid api',
      idToken: 'idt',
      extra: { refresh_expires_in: 1800 },
    });
  });

  it('reads the JSON text of a body, and leaves out what the server did not send', () => {
    const tokens = tokenSetFromResponse('{"access_token":"at","token_type":"DPoP"}', { receivedAt: 1_700_000_000_000 });
    expect(tokens).toEqual({ accessToken: 'at', tokenType: 'DPoP' });
  });

  it('counts from Date.now() when receivedAt is not given', () => {
    const before = Date.now();
    const { expiresAt } = tokenSetFromResponse({ access_token: 'at', token_type: 'Bearer', expires_in: '60' });
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it.each([
    ['no access_token', { token_type: 'Bearer' }, '`access_token` is missing'],
    ['no token_type', { access_token: 'at' }, '`token_type` is missing'],
    ['a negative expires_in', { access_token: 'at', token_type: 'Bearer', expires_in: -1 }, '`expires_in`'],
    [
      'an expires_in that is no number',
      { access_token: 'at', token_type: 'Bearer', expires_in: 'soon' },
      '`expires_in`',
    ],
    ['a list', [], 'not a JSON object'],
    ['text that is not JSON', '<html>', 'not JSON'],
  ])('fails with INVALID_TOKEN_RESPONSE on %s, naming the problem', async (_, data, problem) => {
    const error = await failureOf(
      Promise.resolve().then(() => tokenSetFromResponse(data, { receivedAt: 1_700_000_000_000 })),
    );
    expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
    expect(error.message).toContain(problem);
  });

  it('fails with INVALID_TOKEN_RESPONSE carrying oauthError when given an error answer', async () => {
    const error = await failureOf(
      Promise.resolve().then(() => tokenSetFromResponse({ error: 'invalid_grant', error_description: 'code used' })),
    );
    expect(error).toMatchObject({
      code: 'INVALID_TOKEN_RESPONSE',
      oauthError: 'invalid_grant',
      oauthErrorDescription: 'code used',
    });
  });

  it('fails with CONFIGURATION_ERROR on a token type the package cannot send', async () => {
    const error = await failureOf(
      Promise.resolve().then(() => tokenSetFromResponse({ access_token: 'secret-at', token_type: 'mac' })),
    );
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('`mac`');
    expect(everyRendering(error)).not.toContain('secret-at');
  });

  it.each([
    ['a string', 'now'],
    ['NaN', Number.NaN],
    ['a negative number', -1],
  ])('throws a TypeError naming `receivedAt` when it is %s', (_, receivedAt) => {
    expect(() => tokenSetFromResponse({ access_token: 'at', token_type: 'Bearer' }, { receivedAt } as never)).toThrow(
      TypeError,
    );
    expect(() => tokenSetFromResponse({ access_token: 'at', token_type: 'Bearer' }, { receivedAt } as never)).toThrow(
      /Expected `receivedAt` to be a finite number/,
    );
  });

  it('gives the same TokenSet as refreshTokenGrant for the same answer (one parser)', async () => {
    const body = { access_token: 'at', token_type: 'BEARER', expires_in: 120, scope: 'a b', id_token: 'i', x: 1 };
    const server = await authServer(() => ({ '/token': () => ({ body }) }));
    const before = Date.now();
    const refreshed = await refreshTokenGrant({ tokenUrl: `${server.origin}/token`, clientId: 'app' })(
      { refreshToken: 'rt' },
      context(),
    );
    const { expiresAt, ...rest } = refreshed;
    const mapped = tokenSetFromResponse(body, { receivedAt: before });
    expect({ ...mapped, refreshToken: 'rt', expiresAt: undefined }).toEqual({ ...rest, expiresAt: undefined });
    expect(expiresAt).toBeGreaterThanOrEqual(mapped.expiresAt ?? Number.NaN);
  });
});

describe('discovery: refreshTokenGrant({ issuer })', () => {
  /** A path-aware issuer whose metadata sits at the RFC 8414 location, the OpenID location, or both. */
  async function issuerServer(where: {
    rfc8414?: boolean;
    openid?: boolean;
    issuer?: (issuer: string) => string;
    metadata?: Record<string, unknown>;
  }) {
    let issuer = '';
    const server = await authServer((origin) => {
      issuer = `${origin}/tenants/acme`;
      const metadata = () => ({
        body: {
          issuer: where.issuer ? where.issuer(issuer) : issuer,
          token_endpoint: `${origin}/tenants/acme/token`,
          revocation_endpoint: `${origin}/tenants/acme/revoke`,
          ...where.metadata,
        },
      });
      return {
        ...(where.rfc8414 ? { '/.well-known/oauth-authorization-server/tenants/acme': metadata } : {}),
        ...(where.openid ? { '/tenants/acme/.well-known/openid-configuration': metadata } : {}),
        '/tenants/acme/token': () => issued(),
        '/tenants/acme/revoke': () => ({ body: '' }),
      };
    });
    return { server, issuer };
  }

  it('reads the RFC 8414 location of a path-aware issuer (inserted between host and path) and uses its token endpoint', async () => {
    const { server, issuer } = await issuerServer({ rfc8414: true, openid: true });
    const tokens = await refreshTokenGrant({ issuer, clientId: 'app' })({ refreshToken: 'rt' }, context());
    expect(tokens.accessToken).toBe('at-new');
    expect(server.requests.map((r) => r.path)).toEqual([
      '/.well-known/oauth-authorization-server/tenants/acme',
      '/tenants/acme/token',
    ]);
  });

  it('falls back to the OpenID Connect location (appended to the issuer) when the RFC 8414 one answers 404', async () => {
    const { server, issuer } = await issuerServer({ openid: true });
    await refreshTokenGrant({ issuer, clientId: 'app' })({ refreshToken: 'rt' }, context());
    expect(server.requests.map((r) => r.path)).toEqual([
      '/.well-known/oauth-authorization-server/tenants/acme',
      '/tenants/acme/.well-known/openid-configuration',
      '/tenants/acme/token',
    ]);
  });

  it('refuses metadata whose issuer differs (even by a trailing slash) with CONFIGURATION_ERROR and sends no token', async () => {
    const { server, issuer } = await issuerServer({ rfc8414: true, issuer: (own) => `${own}/` });
    const error = await failureOf(refreshTokenGrant({ issuer, clientId: 'app' })({ refreshToken: 'rt' }, context()));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('RFC 8414 §3.3');
    expect(server.to('/tenants/acme/token')).toHaveLength(0);
  });

  it('fetches the metadata once for 20 concurrent refreshes, and keeps it for the next ones', async () => {
    const { server, issuer } = await issuerServer({ rfc8414: true });
    const refresh = refreshTokenGrant({ issuer, clientId: 'app' });
    await Promise.all(Array.from({ length: 20 }, () => refresh({ refreshToken: 'rt' }, context())));
    await refresh({ refreshToken: 'rt' }, context());
    expect(server.to('/.well-known/oauth-authorization-server/tenants/acme')).toHaveLength(1);
    expect(server.to('/tenants/acme/token')).toHaveLength(21);
  });

  it('reports a failed fetch as REFRESH_FAILED and fetches again on the next call', async () => {
    let calls = 0;
    let issuer = '';
    const server = await authServer((origin) => {
      issuer = origin;
      return {
        '/.well-known/oauth-authorization-server': () =>
          ++calls === 1 ? { status: 503, body: 'down' } : { body: { issuer, token_endpoint: `${origin}/token` } },
        '/token': () => issued(),
      };
    });
    const refresh = refreshTokenGrant({ issuer, clientId: 'app' });
    const error = await failureOf(refresh({ refreshToken: 'rt' }, context()));
    expect(error).toMatchObject({ code: 'REFRESH_FAILED', status: 503 });
    expect((await refresh({ refreshToken: 'rt' }, context())).accessToken).toBe('at-new');
    expect(server.to('/.well-known/oauth-authorization-server')).toHaveLength(2);
  });

  it('refuses a metadata token endpoint that breaks the https rule with CONFIGURATION_ERROR', async () => {
    const { issuer } = await issuerServer({
      rfc8414: true,
      metadata: { token_endpoint: 'http://auth.example.com/token' },
    });
    const error = await failureOf(refreshTokenGrant({ issuer, clientId: 'app' })({ refreshToken: 'rt' }, context()));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('`token_endpoint` to be an https: URL');
  });

  it('says CONFIGURATION_ERROR when neither location has metadata', async () => {
    const { issuer } = await issuerServer({});
    const error = await failureOf(refreshTokenGrant({ issuer, clientId: 'app' })({ refreshToken: 'rt' }, context()));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('no authorization server metadata');
  });

  it('lets tokenUrl win over the metadata: a refresh fetches no metadata', async () => {
    const { server, issuer } = await issuerServer({ rfc8414: true });
    const refresh = refreshTokenGrant({ issuer, tokenUrl: `${server.origin}/tenants/acme/token`, clientId: 'app' });
    await refresh({ refreshToken: 'rt' }, context());
    expect(server.requests.map((r) => r.path)).toEqual(['/tenants/acme/token']);
  });

  it('exports discover(issuer), which returns the checked metadata', async () => {
    const { issuer } = await issuerServer({ openid: true });
    const metadata = await discover(issuer);
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.revocation_endpoint).toBe(`${issuer}/revoke`);
  });

  it.each([
    [{ clientId: 'app' }, /Expected `tokenUrl` to be an absolute URL, got `undefined`, or give `issuer`/],
    [{ clientId: 'app', issuer: 'http://auth.example.com' }, /Expected `issuer` to be an https: URL/],
    [
      { clientId: 'app', issuer: 'https://auth.example.com/?tenant=a' },
      /Expected `issuer` to have no query or fragment/,
    ],
    [{ clientId: 'app', issuer: 'not a url' }, /Expected `issuer` to be an absolute URL/],
    [
      { clientId: 'app', tokenUrl: 'https://a.example/token', revocationUrl: 'http://a.example/revoke' },
      /Expected `revocationUrl` to be an https: URL/,
    ],
  ])('throws a TypeError for %o', (options, message) => {
    expect(() => refreshTokenGrant(options as never)).toThrow(TypeError);
    expect(() => refreshTokenGrant(options as never)).toThrow(message);
  });
});

describe('revocation (RFC 7009): the grant’s revoke(tokens, { signal })', () => {
  async function revocationServer(reply: (request: Recorded) => Reply = () => ({ body: '' })) {
    return authServer(() => ({ '/token': () => issued(), '/revoke': reply }));
  }
  const tokens: TokenSet = { accessToken: 'at-live', refreshToken: 'rt-live' };
  const signal = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

  it('is absent when the grant knows no revocation endpoint (no revocationUrl, no issuer)', () => {
    expect(refreshTokenGrant({ tokenUrl: 'https://a.example/token', clientId: 'app' }).revoke).toBeUndefined();
    expect(
      clientCredentialsGrant({ tokenUrl: 'https://a.example/token', clientId: 'app', clientSecret: 's' }).revoke,
    ).toBeUndefined();
  });

  it('revokes the refresh token and the access token, each with its hint and the grant’s client authentication', async () => {
    const server = await revocationServer();
    const refresh = refreshTokenGrant({
      tokenUrl: `${server.origin}/token`,
      revocationUrl: `${server.origin}/revoke`,
      clientId: 'app',
      clientSecret: 'shh',
    });
    await revokeOf(refresh)(tokens, signal());
    const sent = server.to('/revoke').map((r) => ({
      token: r.params.get('token'),
      hint: r.params.get('token_type_hint'),
      auth: r.headers.authorization,
    }));
    const basic = `Basic ${Buffer.from('app:shh').toString('base64')}`;
    expect(sent).toEqual(
      expect.arrayContaining([
        { token: 'rt-live', hint: 'refresh_token', auth: basic },
        { token: 'at-live', hint: 'access_token', auth: basic },
      ]),
    );
    expect(sent).toHaveLength(2);
  });

  it('ignores unsupported_token_type for the access token (a server that revokes only refresh tokens)', async () => {
    const server = await revocationServer((r) =>
      r.params.get('token_type_hint') === 'access_token'
        ? { status: 400, body: { error: 'unsupported_token_type' } }
        : { body: '' },
    );
    const refresh = refreshTokenGrant({
      tokenUrl: `${server.origin}/token`,
      revocationUrl: `${server.origin}/revoke`,
      clientId: 'app',
    });
    await expect(revokeOf(refresh)(tokens, signal())).resolves.toBe(true);
  });

  it.each([
    ['invalid_client', { status: 401, body: { error: 'invalid_client' } }, 'CONFIGURATION_ERROR'],
    ['a 404', { status: 404, body: 'nothing here' }, 'CONFIGURATION_ERROR'],
    ['a 503', { status: 503, body: 'busy' }, 'REFRESH_FAILED'],
  ] as const)('rejects with a TokenRefreshError on %s, never quoting a token', async (_, reply, code) => {
    const server = await revocationServer(() => reply);
    const refresh = refreshTokenGrant({
      tokenUrl: `${server.origin}/token`,
      revocationUrl: `${server.origin}/revoke`,
      clientId: 'app',
    });
    const error = await failureOf(revokeOf(refresh)(tokens, signal()));
    expect(error.code).toBe(code);
    expect(everyRendering(error)).not.toMatch(/rt-live|at-live/);
  });

  it('names the revocation endpoint when the request does not complete, as a timeout does', async () => {
    const refresh = refreshTokenGrant({
      tokenUrl: 'http://127.0.0.1:1/token',
      revocationUrl: 'http://127.0.0.1:1/revoke',
      clientId: 'app',
    });
    const error = await failureOf(revokeOf(refresh)(tokens, signal()));
    expect(error.code).toBe('REFRESH_FAILED');
    expect(error.message).toMatch(
      /^Token revocation failed: the request did not complete \(\w+\) at the revocation endpoint http:\/\/127\.0\.0\.1:1\/revoke$/,
    );
  });

  it('carries the server’s error, description and error_uri on a refusal, as refresh errors do', async () => {
    const body = { error: 'invalid_client', error_description: 'unknown client', error_uri: 'https://docs.example/e' };
    const server = await revocationServer(() => ({ status: 401, body }));
    const refresh = refreshTokenGrant({
      tokenUrl: `${server.origin}/token`,
      revocationUrl: `${server.origin}/revoke`,
      clientId: 'app',
    });
    const error = await failureOf(revokeOf(refresh)(tokens, signal()));
    expect(error).toMatchObject({
      code: 'CONFIGURATION_ERROR',
      status: 401,
      oauthError: 'invalid_client',
      oauthErrorDescription: 'unknown client',
      oauthErrorUri: 'https://docs.example/e',
    });
  });

  it('gives up at the grant’s timeoutMs when the revocation endpoint hangs, with REFRESH_FAILED', async () => {
    const server = await revocationServer(() => ({ hang: true }));
    const refresh = refreshTokenGrant({
      tokenUrl: `${server.origin}/token`,
      revocationUrl: `${server.origin}/revoke`,
      clientId: 'app',
      timeoutMs: 200,
    });
    const error = await failureOf(revokeOf(refresh)(tokens, signal()));
    expect(error.code).toBe('REFRESH_FAILED');
    expect(error.message).toContain('did not answer within 200 ms (timeoutMs)');
  });

  it('with discovery: is always there, reads the metadata on first use, and resolves without a request when there is no revocation endpoint', async () => {
    let issuer = '';
    const server = await authServer((origin) => {
      issuer = origin;
      return {
        '/.well-known/oauth-authorization-server': () => ({ body: { issuer, token_endpoint: `${origin}/token` } }),
      };
    });
    const refresh = refreshTokenGrant({ issuer, clientId: 'app' });
    // `false`: nothing was revoked, so that logout() reports `revoked: false` rather than a revocation that never was.
    await expect(revokeOf(refresh)(tokens, signal())).resolves.toBe(false);
    expect(server.requests.map((r) => r.path)).toEqual(['/.well-known/oauth-authorization-server']);
  });

  it('with discovery: uses the metadata’s revocation_endpoint', async () => {
    let issuer = '';
    const server = await authServer((origin) => {
      issuer = origin;
      return {
        '/.well-known/oauth-authorization-server': () => ({
          body: { issuer, token_endpoint: `${origin}/token`, revocation_endpoint: `${origin}/revoke` },
        }),
        '/revoke': () => ({ body: '' }),
      };
    });
    await revokeOf(refreshTokenGrant({ issuer, clientId: 'app' }))({ refreshToken: 'rt-live' }, signal());
    expect(server.to('/revoke').map((r) => r.params.get('token'))).toEqual(['rt-live']);
  });
});

describe('clientCredentialsGrant(options)', () => {
  it('sends grant_type=client_credentials with scope, every resource, audience and client_secret_post', async () => {
    const server = await authServer(() => ({ '/token': () => issued({ refresh_token: undefined }) }));
    const grant = clientCredentialsGrant({
      tokenUrl: `${server.origin}/token`,
      clientId: 'svc',
      clientSecret: 'svc-secret',
      authMethod: 'client_secret_post',
      scope: ['reports:read', 'reports:write'],
      resource: ['https://api.example.com', 'https://files.example.com'],
      audience: 'reports',
    });
    const tokens = await grant({} as TokenSet, context());
    expect(tokens).toMatchObject({ accessToken: 'at-new', tokenType: 'Bearer' });
    expect(tokens.refreshToken).toBeUndefined();
    const [request] = server.to('/token');
    expect(request?.params.get('grant_type')).toBe('client_credentials');
    expect(request?.params.get('scope')).toBe('reports:read reports:write');
    expect(request?.params.getAll('resource')).toEqual(['https://api.example.com', 'https://files.example.com']);
    expect(request?.params.get('audience')).toBe('reports');
    expect(request?.params.get('client_id')).toBe('svc');
    expect(request?.params.get('client_secret')).toBe('svc-secret');
    expect(request?.params.has('refresh_token')).toBe(false);
  });

  it('says it needs no refresh token (needsRefreshToken: false)', () => {
    const grant = clientCredentialsGrant({ tokenUrl: 'https://a.example/token', clientId: 'svc', clientSecret: 's' });
    expect(grant.needsRefreshToken).toBe(false);
    expect(
      refreshTokenGrant({ tokenUrl: 'https://a.example/token', clientId: 'app' }).needsRefreshToken,
    ).toBeUndefined();
  });

  it.each([
    ['invalid_client', 401, { error: 'invalid_client' }, 'CONFIGURATION_ERROR'],
    ['invalid_scope', 400, { error: 'invalid_scope' }, 'CONFIGURATION_ERROR'],
    ['invalid_grant', 400, { error: 'invalid_grant' }, 'CONFIGURATION_ERROR'],
    ['unauthorized_client', 400, { error: 'unauthorized_client' }, 'CONFIGURATION_ERROR'],
    ['a 400 without an OAuth error', 400, 'Bad Request', 'REFRESH_FAILED'],
    ['a 401 without an OAuth error', 401, '', 'REFRESH_FAILED'],
    ['a 500', 500, { error: 'server_error' }, 'REFRESH_FAILED'],
    ['invalid_grant on a 403', 403, { error: 'invalid_grant' }, 'CONFIGURATION_ERROR'],
    ['invalid_grant on a 500 (a server error may pass)', 500, { error: 'invalid_grant' }, 'REFRESH_FAILED'],
    ['a 2xx with invalid_grant', 200, { error: 'invalid_grant' }, 'CONFIGURATION_ERROR'],
  ] as const)('fails with %s (HTTP %s) as %s, never SESSION_EXPIRED', async (_, status, body, code) => {
    const server = await authServer(() => ({ '/token': () => ({ status, body }) }));
    const grant = clientCredentialsGrant({
      tokenUrl: `${server.origin}/token`,
      clientId: 'svc',
      clientSecret: 'svc-secret',
    });
    const error = await failureOf(grant({} as TokenSet, context()));
    expect(error.code).toBe(code);
    expect(everyRendering(error)).not.toContain('svc-secret');
  });

  it('discovers the token endpoint from issuer too', async () => {
    let issuer = '';
    const server = await authServer((origin) => {
      issuer = origin;
      return {
        '/.well-known/oauth-authorization-server': () => ({ status: 404 }),
        '/.well-known/openid-configuration': () => ({ body: { issuer, token_endpoint: `${origin}/token` } }),
        '/token': () => issued(),
      };
    });
    const grant = clientCredentialsGrant({ issuer, clientId: 'svc', clientSecret: 's', scope: 'reports:read' });
    expect((await grant({} as TokenSet, context())).accessToken).toBe('at-new');
    expect(server.to('/token')[0]?.params.get('grant_type')).toBe('client_credentials');
  });

  it.each([
    [{ resource: 'not a uri' }, /Expected `resource` to be an absolute URI/],
    [{ resource: [] }, /Expected `resource` to be an absolute URI or a non-empty list/],
    [{ audience: '' }, /Expected `audience` to be a non-empty string, got an empty string/],
    [
      { extraParams: { resource: 'https://x.example' } },
      /Expected `extraParams` not to set `resource`: clientCredentialsGrant sets it/,
    ],
  ])('throws a TypeError for %o', (extra, message) => {
    const options = { tokenUrl: 'https://a.example/token', clientId: 'svc', clientSecret: 's', ...extra };
    expect(() => clientCredentialsGrant(options as never)).toThrow(TypeError);
    expect(() => clientCredentialsGrant(options as never)).toThrow(message);
  });
});
