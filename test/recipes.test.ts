/**
 * One test per documented recipe (docs/recipes.md, docs/oauth2.md): each starts a node:http server on 127.0.0.1 that
 * answers the way that API's token endpoint and resources do, and runs the recipe's options against it as the
 * documentation prints them.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh, isTokenRefreshError } from '../src/index.js';
import type { TokenSet } from '../src/index.js';
import { refreshTokenGrant } from '../src/oauth2.js';
import { closeAll } from './support/local-server.js';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
}

/**
 * An API imitation: `tokenPath` answers with `onToken`; every other path is a resource that accepts only the access
 * tokens the test issued and has not expired (`expireAll`), and answers 401 with a Bearer challenge otherwise.
 */
class FakeApi {
  readonly tokenCalls: Recorded[] = [];
  /** The Authorization header of every resource request, in order. */
  readonly resourceAuth: Array<string | undefined> = [];
  readonly #valid = new Set<string>();
  #counter = 0;
  #server: Server | undefined;
  origin = '';

  constructor(
    readonly tokenPath: string,
    readonly onToken: (request: Recorded, api: FakeApi) => Reply,
  ) {}

  /** Makes a new access token the resources accept. */
  issue(prefix = 'at'): string {
    const token = `${prefix}-${++this.#counter}`;
    this.#valid.add(token);
    return token;
  }

  /** Makes the resources accept `token` (e.g. a JWT the test built). */
  accept(token: string): string {
    this.#valid.add(token);
    return token;
  }

  /** Every access token issued so far stops working, as after their expiry. */
  expireAll(): void {
    this.#valid.clear();
  }

  get tokenUrl(): string {
    return `${this.origin}${this.tokenPath}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        let reply: Reply;
        if (request.path === this.tokenPath) {
          this.tokenCalls.push(request);
          reply = this.onToken(request, this);
        } else {
          this.resourceAuth.push(req.headers.authorization);
          const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
          reply =
            token !== undefined && this.#valid.has(token)
              ? { json: { ok: true, path: request.path } }
              : {
                  status: 401,
                  headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
                  json: { error: 'unauthorized' },
                };
        }
        res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json', ...reply.headers });
        res.end(JSON.stringify(reply.json ?? {}));
      });
    });
    servers.push(this.#server);
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }
}

const servers: Server[] = [];
afterEach(() => closeAll(servers));

const form = (request: Recorded | undefined): URLSearchParams => new URLSearchParams(request?.body ?? '');

function basicOf(request: Recorded | undefined): string | undefined {
  const header = request?.headers.authorization;
  return header?.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : undefined;
}

/** A JWT-shaped access token (unsigned: only its `exp` matters here, as for any client). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.signature`;
}

describe('documented recipes', () => {
  it('a generic OAuth 2.0 server with the client id and secret in the body', async () => {
    const server = await new FakeApi('/oauth/token', (request, api) => {
      const body = form(request);
      if (body.get('client_id') !== 'my-app' || body.get('client_secret') !== 'app-secret') {
        return { status: 401, json: { error: 'invalid_client' } };
      }
      return {
        json: {
          access_token: api.issue(),
          token_type: 'bearer',
          expires_in: 3600,
          refresh_token: `rt-${api.tokenCalls.length + 1}`,
        },
      };
    }).start();

    const api = axios.create({ baseURL: server.origin });
    const saved: Array<TokenSet | null> = [];
    attachRefresh(api, {
      tokens: { accessToken: 'expired-token', refreshToken: 'rt-1' },
      refresh: refreshTokenGrant({
        tokenUrl: server.tokenUrl,
        clientId: 'my-app',
        clientSecret: 'app-secret',
        authMethod: 'client_secret_post',
      }),
      onTokens: (tokens) => {
        saved.push(tokens);
      },
    });

    const responses = await Promise.all([api.get('/me'), api.get('/orders'), api.get('/invoices')]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(server.tokenCalls).toHaveLength(1);
    expect(server.tokenCalls[0]?.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(form(server.tokenCalls[0]))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: 'my-app',
      client_secret: 'app-secret',
    });
    expect(saved).toEqual([
      expect.objectContaining({ accessToken: 'at-1', refreshToken: 'rt-2', tokenType: 'Bearer' }),
    ]);
  });

  describe.each([
    ['the Basic header', {}],
    ['the body', { authMethod: 'client_secret_post' as const }],
  ])('Keycloak offline tokens, client authentication in %s', (_, auth) => {
    it('asks for offline_access, keeps the unrotated refresh token and refresh_expires_in: 0', async () => {
      const offlineToken = 'offline-eyJhbGciOiJIUzI1NiJ9';
      const server = await new FakeApi('/realms/acme/protocol/openid-connect/token', (request, api) => {
        const body = form(request);
        const client = basicOf(request) ?? `${body.get('client_id')}:${body.get('client_secret')}`;
        if (client !== 'reporting-job:kc-secret') return { status: 401, json: { error: 'unauthorized_client' } };
        if (body.get('refresh_token') !== offlineToken) {
          return { status: 400, json: { error: 'invalid_grant', error_description: 'Offline session not active' } };
        }
        return {
          json: {
            access_token: api.issue('kc'),
            expires_in: 300,
            refresh_expires_in: 0,
            refresh_token: offlineToken,
            token_type: 'Bearer',
            id_token: 'eyJ.id.token',
            'not-before-policy': 0,
            session_state: '5c1b3a4e',
            scope: 'openid offline_access profile',
          },
        };
      }).start();

      const api = axios.create({ baseURL: server.origin });
      const saved: Array<TokenSet | null> = [];
      const attached = attachRefresh(api, {
        tokens: { refreshToken: offlineToken },
        refresh: refreshTokenGrant({
          tokenUrl: server.tokenUrl,
          clientId: 'reporting-job',
          clientSecret: 'kc-secret',
          scope: 'openid offline_access',
          ...auth,
        }),
        onTokens: (tokens) => {
          saved.push(tokens);
        },
      });

      const before = Date.now();
      expect((await api.get('/admin/realms/acme/users')).status).toBe(200);
      server.expireAll();
      expect((await api.get('/admin/realms/acme/users')).status).toBe(200);

      expect(server.tokenCalls.map((c) => form(c).get('refresh_token'))).toEqual([offlineToken, offlineToken]);
      expect(server.tokenCalls.every((c) => form(c).get('scope') === 'openid offline_access')).toBe(true);
      expect(saved).toHaveLength(2);
      const latest = attached.getTokens();
      expect(latest?.refreshToken).toBe(offlineToken);
      expect(latest?.extra).toMatchObject({ refresh_expires_in: 0, 'not-before-policy': 0 });
      expect(latest?.idToken).toBe('eyJ.id.token');
      expect(latest?.scope).toBe('openid offline_access profile');
      // Five-minute tokens: counted from when the refresh was sent.
      expect(latest?.expiresAt).toBeGreaterThanOrEqual(before + 300_000);
      expect(latest?.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
    });
  });

  it('Laravel Passport / ProcessMaker: id and secret, a new refresh token only sometimes', async () => {
    let issued = 1;
    const server = await new FakeApi('/oauth/token', (request, api) => {
      const body = form(request);
      if (body.get('client_id') !== '3' || body.get('client_secret') !== 'passport-secret') {
        return { status: 401, json: { error: 'invalid_client', message: 'Client authentication failed' } };
      }
      // Only every other refresh rotates, as a Passport app with a custom grant or token repository may do.
      const rotate = api.tokenCalls.length % 2 === 1;
      if (rotate) issued += 1;
      return {
        json: {
          token_type: 'Bearer',
          expires_in: 31_536_000,
          access_token: api.issue('passport'),
          ...(rotate ? { refresh_token: `def50200-${issued}` } : {}),
        },
      };
    }).start();

    const api = axios.create({ baseURL: server.origin });
    const attached = attachRefresh(api, {
      tokens: { accessToken: 'stale', refreshToken: 'def50200-1' },
      refresh: refreshTokenGrant({
        tokenUrl: server.tokenUrl,
        clientId: '3',
        clientSecret: 'passport-secret',
        authMethod: 'client_secret_post',
      }),
    });

    for (let i = 0; i < 3; i++) {
      server.expireAll();
      expect((await api.get('/api/1.0/users')).status).toBe(200);
    }
    expect(server.tokenCalls.map((c) => form(c).get('refresh_token'))).toEqual([
      'def50200-1',
      'def50200-2',
      'def50200-2',
    ]);
    expect(attached.getTokens()?.refreshToken).toBe('def50200-3');
  });

  it('EVE Online SSO style: resume from a saved refresh token; the first request refreshes first', async () => {
    const server = await new FakeApi('/v2/oauth/token', (request, api) => {
      if (basicOf(request) !== 'eve-client-id:eve-secret') return { status: 401, json: { error: 'invalid_client' } };
      const accessToken = api.accept(jwt({ sub: 'CHARACTER:EVE:9000', exp: Math.floor(Date.now() / 1000) + 1199 }));
      const refreshToken = `eve-rt-${api.tokenCalls.length + 1}`;
      return {
        json: { access_token: accessToken, expires_in: 1199, token_type: 'Bearer', refresh_token: refreshToken },
      };
    }).start();

    const esi = axios.create({ baseURL: server.origin });
    const saved: Array<TokenSet | null> = [];
    const attached = attachRefresh(esi, {
      tokens: { refreshToken: 'eve-rt-1' }, // what the app saved last time; no access token
      refresh: refreshTokenGrant({
        tokenUrl: server.tokenUrl,
        clientId: 'eve-client-id',
        clientSecret: 'eve-secret',
      }),
      onTokens: (tokens) => {
        saved.push(tokens);
      },
    });

    expect((await esi.get('/latest/characters/9000/wallet/')).status).toBe(200);
    // The first resource request already carried the new token: no request went out without one.
    expect(server.tokenCalls).toHaveLength(1);
    expect(form(server.tokenCalls[0]).get('refresh_token')).toBe('eve-rt-1');
    expect(server.resourceAuth).toEqual([`Bearer ${saved[0]?.accessToken}`]);
    expect(saved[0]?.refreshToken).toBe('eve-rt-2');
    // 20-minute tokens.
    expect((saved[0]?.expiresAt ?? 0) - Date.now()).toBeGreaterThan(1_190_000);

    // Forcing a refresh (e.g. after the app's scopes changed) trades the latest refresh token.
    await attached.refresh();
    expect(form(server.tokenCalls[1]).get('refresh_token')).toBe('eve-rt-2');
    expect((await esi.get('/latest/characters/9000/wallet/')).status).toBe(200);
    expect(server.resourceAuth.at(-1)).toBe(`Bearer ${saved[1]?.accessToken}`);
  });

  it('persisting rotated tokens to a file: the first run starts logged out, a restarted process resumes with the latest refresh token', async () => {
    const { mkdtemp, readFile, rename, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const server = await new FakeApi('/oauth/token', (request, api) => {
      const presented = form(request).get('refresh_token');
      if (presented !== `rt-${api.tokenCalls.length}`) return { status: 400, json: { error: 'invalid_grant' } };
      return {
        json: {
          access_token: api.issue(),
          token_type: 'Bearer',
          expires_in: 300,
          refresh_token: `rt-${api.tokenCalls.length + 1}`,
        },
      };
    }).start();
    const file = join(await mkdtemp(join(tmpdir(), 'recipe-')), 'tokens.json'); // does not exist yet: a first run

    // The recipe, as docs/recipes.md prints it (paths aside).
    const readSavedTokens = async (): Promise<TokenSet | null> => {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as TokenSet | null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // first run: nothing saved yet
        throw error; // anything else is worth a TOKENS_LOAD_FAILED
      }
    };
    const start = () => {
      const api = axios.create({ baseURL: server.origin });
      const auth = attachRefresh(api, {
        tokens: readSavedTokens,
        refresh: refreshTokenGrant({ tokenUrl: server.tokenUrl, clientId: 'cli' }),
        onTokens: async (tokens) => {
          // Write then rename: a crash mid-write never leaves half a file (and a lost refresh token).
          await writeFile(`${file}.tmp`, JSON.stringify(tokens), { mode: 0o600 });
          await rename(`${file}.tmp`, file);
        },
      });
      return { api, auth };
    };

    // First run: no file. Requests go out without a token (the API's own 401), not a TOKENS_LOAD_FAILED.
    const first = start();
    const unauthenticated = await first.api.get('/me').catch((error: unknown) => error);
    expect(isTokenRefreshError(unauthenticated)).toBe(false);
    expect((unauthenticated as { response?: { status?: number } }).response?.status).toBe(401);
    expect(first.auth.getTokens()).toBeNull();

    // The login: setTokens, and onTokens writes the file.
    await first.auth.setTokens({ accessToken: server.issue(), refreshToken: 'rt-1' });
    expect((JSON.parse(await readFile(file, 'utf8')) as TokenSet).refreshToken).toBe('rt-1');
    expect((await first.api.get('/me')).status).toBe(200);
    server.expireAll();
    expect((await first.api.get('/me')).status).toBe(200);
    expect((JSON.parse(await readFile(file, 'utf8')) as TokenSet).refreshToken).toBe('rt-2');

    // A restart loads the file: its refresh token is the live one, so the session goes on.
    server.expireAll();
    const restarted = start();
    expect((await restarted.api.get('/me')).status).toBe(200);
    expect(server.tokenCalls.map((call) => form(call).get('refresh_token'))).toEqual(['rt-1', 'rt-2']);
    expect((JSON.parse(await readFile(file, 'utf8')) as TokenSet).refreshToken).toBe('rt-3');
  });

  it('a vendor API with its own refresh endpoint and {accessToken, refreshToken, accessTokenExpiredAt} in Unix seconds', async () => {
    const server = await new FakeApi('/api/v2/auth/refresh', (request, api) => {
      const { refreshToken } = JSON.parse(request.body) as { refreshToken?: string };
      if (refreshToken !== `vendor-rt-${api.tokenCalls.length}`) {
        return { status: 401, json: { code: 'REFRESH_TOKEN_EXPIRED' } };
      }
      return {
        json: {
          accessToken: api.issue('vendor'),
          refreshToken: `vendor-rt-${api.tokenCalls.length + 1}`,
          accessTokenExpiredAt: Math.floor(Date.now() / 1000) + 3600,
        },
      };
    }).start();

    // A plain instance for the refresh call: it is not attached, so the refresh never goes through the plugin.
    const auth = axios.create({ baseURL: server.origin });
    const api = axios.create({ baseURL: server.origin });
    const attached = attachRefresh(api, {
      tokens: { accessToken: 'old', refreshToken: 'vendor-rt-1' },
      refresh: async ({ refreshToken }, { signal }) => {
        const { data } = await auth.post<{ accessToken: string; refreshToken: string; accessTokenExpiredAt: number }>(
          '/api/v2/auth/refresh',
          { refreshToken },
          { signal },
        );
        return {
          accessToken: data.accessToken,
          refreshToken: data.refreshToken,
          expiresAt: data.accessTokenExpiredAt * 1000,
        };
      },
    });
    const expired: unknown[] = [];
    attached.on('sessionExpired', (error) => expired.push(error));

    const before = Date.now();
    expect((await api.get('/api/v2/devices')).status).toBe(200);
    const tokens = attached.getTokens();
    expect(tokens).toMatchObject({ accessToken: 'vendor-1', refreshToken: 'vendor-rt-2' });
    expect(tokens?.expiresAt).toBeGreaterThan(before + 3_590_000);
    expect(JSON.parse(server.tokenCalls[0]?.body ?? '')).toEqual({ refreshToken: 'vendor-rt-1' });

    // The vendor refusing the refresh token with a 401 ends the session (an AxiosError with status 400/401 does).
    await attached.setTokens({ accessToken: 'old', refreshToken: 'revoked' });
    const failure = await api.get('/api/v2/devices').catch((error: unknown) => error);
    expect(isTokenRefreshError(failure) && failure.code).toBe('SESSION_EXPIRED');
    expect(expired).toHaveLength(1);
  });

  it('migrating from axios-auth-refresh: refreshAuthLogic becomes `refresh`, statusCodes and skipAuthRefresh stay', async () => {
    const server = await new FakeApi('/auth/refresh', (request, api) => ({
      json: { access_token: api.issue(), token_type: 'Bearer', refresh_token: form(request).get('refresh_token') },
    })).start();
    const api = axios.create({ baseURL: server.origin });
    // Before: createAuthRefresh(api, refreshAuthLogic, { statusCodes: [401, 403] }), where refreshAuthLogic posted the
    // refresh token, stored the answer and patched failedRequest.response.config.headers.Authorization.
    attachRefresh(api, {
      tokens: { accessToken: 'old', refreshToken: 'rt' },
      refresh: refreshTokenGrant({ tokenUrl: server.tokenUrl, clientId: 'web' }),
      statusCodes: [401, 403],
    });

    // skipAuthRefresh keeps its meaning: this request is left alone, its 401 is the caller's.
    const skipped = await api.get('/public', { skipAuthRefresh: true }).catch((error: unknown) => error);
    expect(axios.isAxiosError(skipped) && skipped.response?.status).toBe(401);
    expect(server.tokenCalls).toHaveLength(0);
    expect(server.resourceAuth).toEqual([undefined]);

    const responses = await Promise.all([api.get('/a'), api.get('/b')]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(server.tokenCalls).toHaveLength(1);
  });

  it('migrating from axios-jwt: requestRefresh becomes `refresh`, tokenExpireFudge becomes leewayMs', async () => {
    const server = await new FakeApi('/auth/refresh_token', (request, api) => {
      const { refresh } = JSON.parse(request.body) as { refresh: string };
      return {
        json: {
          access_token: api.accept(jwt({ exp: Math.floor(Date.now() / 1000) + 300 })),
          refresh_token: `${refresh}+`,
        },
      };
    }).start();
    // The axios-jwt requestRefresh, unchanged: (refreshToken) => Promise<string | { accessToken, refreshToken }>.
    const requestRefresh = async (refreshToken: string): Promise<{ accessToken: string; refreshToken: string }> => {
      const { data } = await axios.post<{ access_token: string; refresh_token: string }>(server.tokenUrl, {
        refresh: refreshToken,
      });
      return { accessToken: data.access_token, refreshToken: data.refresh_token };
    };

    const api = axios.create({ baseURL: server.origin });
    const attached = attachRefresh(api, {
      // setAuthTokens({ accessToken, refreshToken }) from storage: a JWT that expired while the app was closed.
      tokens: { accessToken: jwt({ exp: Math.floor(Date.now() / 1000) - 60 }), refreshToken: 'rt' },
      refresh: async ({ refreshToken }) => requestRefresh(refreshToken ?? ''),
      leewayMs: 10_000, // tokenExpireFudge: 10 (seconds)
    });

    expect((await api.get('/me')).status).toBe(200);
    // Like axios-jwt, the expired JWT is refreshed before the request goes out: the API never sees it.
    expect(server.tokenCalls).toHaveLength(1);
    expect(server.resourceAuth).toEqual([`Bearer ${attached.getTokens()?.accessToken}`]);
    expect(attached.getTokens()?.refreshToken).toBe('rt+');
    // isLoggedIn() / clearAuthTokens() become getTokens() !== null / setTokens(null).
    await attached.setTokens(null);
    expect(attached.getTokens()).toBeNull();
  });
});
