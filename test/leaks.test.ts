import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import axios, { type AxiosInstance, type CreateAxiosDefaults, type InternalAxiosRequestConfig } from 'axios';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attachRefresh,
  createTokenSession,
  isTokenRefreshError,
  type AttachRefreshOptions,
  type DebugEvent,
  type RefreshFunction,
  type TokenSet,
} from '../src/index.js';
import { refreshTokenGrant } from '../src/oauth2.js';
import { listen, readBody, refreshTokenOf, sendJson, type LocalServer } from './support/local-server.js';

/** axios's own Node transport (a dependency of axios), to reproduce what older axios versions do on a redirect. */
const followRedirects = createRequire(import.meta.url)('follow-redirects') as {
  http: { request(options: unknown, callback: unknown): unknown };
};

type BeforeRedirect = NonNullable<InternalAxiosRequestConfig['beforeRedirect']>;

/**
 * Where a token may go, and where it must never show up. Every token and the client secret are long random
 * "canaries"; every error, event and debug event the tests can provoke is serialized and searched for them.
 */

const CLIENT_SECRET = `client-secret-${randomUUID()}`;
/** Every secret issued in the current test: access tokens, refresh tokens, the client secret. */
let secrets: string[];
let live: Set<string>;
let spent: Set<string>;
/** How the token endpoint answers the next token request(s). */
let tokenMode: 'ok' | 'slow' | 'refuse' | 'fail' | 'garbage' | 'echo-invalid-client' | 'drop' | 'hang';
let api: LocalServer;
let other: LocalServer;
/** What the `other` server and `/landing` saw in Authorization, in order. */
let otherSaw: (string | undefined)[];
let landingSaw: (string | undefined)[];

function issue(): TokenSet {
  const tokens = {
    accessToken: `access-${randomUUID()}`,
    refreshToken: `refresh-${randomUUID()}`,
    expiresAt: Date.now() + 600_000,
  };
  secrets.push(tokens.accessToken, tokens.refreshToken);
  live.add(tokens.accessToken);
  return tokens;
}

function tokenEndpoint(req: IncomingMessage, res: ServerResponse, body: string): void {
  const refreshToken = refreshTokenOf(req, body);
  switch (tokenMode) {
    case 'refuse':
      // Some servers echo the refresh token they refuse.
      sendJson(res, 400, { error: 'invalid_grant', error_description: `refresh token ${refreshToken} is revoked` });
      return;
    case 'fail':
      sendJson(res, 503, { error: 'temporarily_unavailable', echo: refreshToken });
      return;
    case 'garbage':
      sendJson(res, 200, { access_token: 42, token_type: 'Bearer', echo: refreshToken });
      return;
    case 'echo-invalid-client':
      sendJson(res, 401, {
        error: 'invalid_client',
        error_description: `bad secret ${CLIENT_SECRET} for ${refreshToken}`,
      });
      return;
    case 'drop':
      res.socket?.destroy();
      return;
    case 'hang':
      return;
    case 'slow':
    case 'ok': {
      if (tokenMode === 'slow') {
        tokenMode = 'ok';
        setTimeout(() => tokenEndpoint(req, res, body), 300);
        return;
      }
      if (refreshToken === undefined || spent.has(refreshToken)) {
        sendJson(res, 400, { error: 'invalid_grant' });
        return;
      }
      spent.add(refreshToken);
      const next = issue();
      sendJson(res, 200, {
        access_token: next.accessToken,
        refresh_token: next.refreshToken,
        token_type: 'Bearer',
        expires_in: 600,
      });
    }
  }
}

beforeEach(async () => {
  secrets = [CLIENT_SECRET];
  live = new Set();
  spent = new Set();
  tokenMode = 'ok';
  otherSaw = [];
  landingSaw = [];
  other = await listen((req, res) => {
    otherSaw.push(req.headers.authorization);
    res.end('other');
  });
  api = await listen((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') return tokenEndpoint(req, res, body);
      if (url.pathname === '/redirect') {
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        res.end();
        return;
      }
      if (url.pathname === '/landing') {
        landingSaw.push(req.headers.authorization);
        res.end('landed');
        return;
      }
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      if (token === undefined || !live.has(token)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        res.end();
        return;
      }
      if (url.pathname === '/boom') {
        sendJson(res, 500, { error: 'boom' });
        return;
      }
      sendJson(res, 200, { ok: true });
    })();
  });
});

afterEach(async () => {
  await Promise.all([api.close(), other.close()]);
});

/** Resolves every host name to 127.0.0.1, so that `api.test` and `evil.api.test` are two hosts of one local server. */
const lookup = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options?.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as NonNullable<CreateAxiosDefaults['lookup']>;

function instance(baseURL = api.url, defaults: CreateAxiosDefaults = {}): AxiosInstance {
  return axios.create({ baseURL, lookup, ...defaults });
}

const customRefresh =
  (url: () => string): RefreshFunction =>
  async (current, { signal }) => {
    const { data } = await axios.post<Record<string, unknown>>(
      `${url()}/token`,
      { refreshToken: current.refreshToken },
      { signal },
    );
    return {
      accessToken: data.access_token as string,
      refreshToken: data.refresh_token as string,
      expiresAt: Date.now() + 600_000,
    };
  };

const grant = (): RefreshFunction =>
  refreshTokenGrant({ tokenUrl: `${api.url}/token`, clientId: 'app', clientSecret: CLIENT_SECRET, timeoutMs: 2_000 });

/** Every way an error or payload is commonly turned into text: message, String(), toJSON(), JSON.stringify. */
function renderings(value: unknown): string[] {
  const texts = [JSON.stringify(value) ?? '', String(value)];
  if (value instanceof Error) texts.push(value.message, value.stack ?? '');
  const toJSON = (value as { toJSON?: () => unknown } | null)?.toJSON;
  if (typeof toJSON === 'function') texts.push(JSON.stringify(toJSON.call(value)));
  return texts;
}

function expectNoSecret(values: readonly unknown[], render: (value: unknown) => string[] = renderings): void {
  for (const value of values) {
    for (const text of render(value)) {
      for (const secret of secrets) {
        if (text.includes(secret)) {
          const at = text.indexOf(secret);
          throw new Error(`a secret leaked into ${text.slice(0, 200)} … ${text.slice(Math.max(0, at - 600), at + 20)}`);
        }
      }
    }
  }
}

const caught = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('attachRefresh(instance, options): the token goes only to its origin', () => {
  it('sends the token to the own origin and to allowedOrigins, never to another port of the same host', async () => {
    const client = instance();
    const auth = attachRefresh(client, { tokens: issue(), refresh: customRefresh(() => api.url) });
    await client.get(`${other.url}/x`);
    expect(otherSaw).toEqual([undefined]);
    auth.detach();

    attachRefresh(client, { tokens: issue(), refresh: customRefresh(() => api.url), allowedOrigins: [other.url] });
    await client.get(`${other.url}/x`);
    expect(otherSaw[1]).toMatch(/^Bearer access-/);
  });

  it.each([
    ['another port of the same host', () => `${other.url}/x`, () => otherSaw],
    [
      'the same port under another host name (127.0.0.1 -> localhost)',
      () => `http://localhost:${api.port}/landing`,
      () => landingSaw,
    ],
  ])('drops Authorization when the Node adapter follows a redirect to %s', async (_what, target, seen) => {
    const client = instance();
    attachRefresh(client, { tokens: issue(), refresh: customRefresh(() => api.url) });
    const response = await client.get(`/redirect?to=${encodeURIComponent(target())}`);
    expect(response.status).toBe(200);
    expect(seen()).toEqual([undefined]);
  });

  it('drops Authorization when the Node adapter follows a redirect to a subdomain', async () => {
    const client = instance(`http://api.test:${api.port}`);
    attachRefresh(client, { tokens: issue(), refresh: customRefresh(() => api.url) });
    await client.get(`/redirect?to=${encodeURIComponent(`http://evil.api.test:${api.port}/landing`)}`);
    expect(landingSaw).toEqual([undefined]);
  });

  it('keeps Authorization on a redirect within the own origin', async () => {
    const client = instance(`http://api.test:${api.port}`);
    const tokens = issue();
    attachRefresh(client, { tokens, refresh: customRefresh(() => api.url) });
    await client.get('/redirect?to=/landing');
    await client.get(`/redirect?to=${encodeURIComponent(`http://api.test:${api.port}/landing`)}`);
    expect(landingSaw).toEqual([`Bearer ${tokens.accessToken}`, `Bearer ${tokens.accessToken}`]);
  });

  it('drops Authorization on a redirect to a subdomain also where axios leaves it to follow-redirects, which keeps it there', async () => {
    // What older axios versions do: follow-redirects decides alone, then only the config's beforeRedirect hook runs.
    const legacy = (client: AxiosInstance): AxiosInstance => {
      client.interceptors.request.use((config) => {
        config.transport = {
          request: (options: Record<string, unknown>, callback: unknown) =>
            followRedirects.http.request(
              { ...options, beforeRedirect: (...args: Parameters<BeforeRedirect>) => config.beforeRedirect?.(...args) },
              callback,
            ),
        };
        return config;
      });
      return client;
    };
    const target = `/redirect?to=${encodeURIComponent(`http://evil.api.test:${api.port}/landing`)}`;
    const plain = legacy(instance(`http://api.test:${api.port}`));
    await plain.get(target, { headers: { Authorization: 'Bearer set-by-hand' } });
    expect(landingSaw).toEqual(['Bearer set-by-hand']);

    // Registered first, the legacy transport's interceptor runs after the plugin's.
    const client = legacy(instance(`http://api.test:${api.port}`));
    attachRefresh(client, { tokens: issue(), refresh: customRefresh(() => api.url) });
    await client.get(target);
    expect(landingSaw).toEqual(['Bearer set-by-hand', undefined]);
  });

  it('runs the app’s own beforeRedirect hook as well', async () => {
    const client = instance();
    const hops: string[] = [];
    attachRefresh(client, { tokens: issue(), refresh: customRefresh(() => api.url) });
    await client.get(`/redirect?to=${encodeURIComponent(`${other.url}/x`)}`, {
      beforeRedirect: (options) => {
        hops.push(String(options['href']));
      },
    });
    expect(hops).toEqual([`${other.url}/x`]);
    expect(otherSaw).toEqual([undefined]);
  });
});

describe('attachRefresh(instance, options): no token or secret in errors, events or debug output', () => {
  async function provokeEverything(
    refresh: () => RefreshFunction,
  ): Promise<{ errors: unknown[]; events: unknown[]; debug: DebugEvent[] }> {
    const errors: unknown[] = [];
    const events: unknown[] = [];
    const debug: DebugEvent[] = [];
    const attach = (client: AxiosInstance, options: Partial<AttachRefreshOptions>) => {
      const auth = attachRefresh(client, {
        tokens: issue(),
        refresh: refresh(),
        refreshTimeoutMs: 500,
        debug: (event) => debug.push(event),
        ...options,
      } as AttachRefreshOptions);
      auth.on('refreshError', (error) => events.push(error));
      auth.on('sessionExpired', (error) => events.push(error));
      return auth;
    };
    const expireAll = (): void => live.clear();

    // An API error after a token was attached (500), and a 401 after the replays are used up.
    let client = instance();
    attach(client, {});
    errors.push(await caught(client.get('/boom')));
    client = instance();
    attach(client, { maxReplays: 0 });
    expireAll();
    errors.push(await caught(client.get('/data')));

    // Every refresh failure the endpoint can cause, each on a fresh session.
    for (const mode of ['refuse', 'fail', 'garbage', 'echo-invalid-client', 'drop', 'hang'] as const) {
      tokenMode = mode;
      client = instance();
      attach(client, {});
      expireAll();
      errors.push(await caught(client.get('/data')));
      // A second request: after a refusal it is rejected as SESSION_EXPIRED without a refresh.
      errors.push(await caught(client.get('/data')));
    }
    tokenMode = 'ok';

    // onTokens that throws an error quoting the token; a loader that does; a stream body that cannot be replayed.
    client = instance();
    const persisting = attach(client, {
      onTokens: (tokens) => {
        throw new Error(`could not save ${tokens?.accessToken} / ${tokens?.refreshToken}`);
      },
    });
    expireAll();
    await client.get('/data');
    errors.push(await caught(persisting.setTokens(issue())));

    client = instance();
    const quoted = issue();
    attach(client, {
      tokens: () => {
        throw new Error(`bad tokens ${quoted.accessToken}`);
      },
    });
    errors.push(await caught(client.get('/data')));

    client = instance();
    attach(client, {});
    expireAll();
    errors.push(await caught(client.post('/data', Readable.from(['chunk']))));

    // Bad input that names a token value.
    errors.push(
      await caught(
        Promise.resolve().then(() =>
          attachRefresh(instance(), { tokens: { accessToken: secrets[1], expiresAt: 5 } as never, refresh: refresh() }),
        ),
      ),
    );
    const session = createTokenSession({ tokens: issue(), refresh: refresh() });
    errors.push(await caught(session.setTokens({ accessToken: issue().accessToken, refreshToken: 42 } as never)));

    return { errors, events, debug };
  }

  it.each([
    ['a custom refresh', () => customRefresh(() => api.url)],
    ['refreshTokenGrant', grant],
  ])('holds for every error code path with %s', async (_name, refresh) => {
    const { errors, events, debug } = await provokeEverything(refresh);

    const codes = new Set(
      errors.map((e) =>
        isTokenRefreshError(e) ? e.code : axios.isAxiosError(e) ? `http ${e.response?.status}` : (e as Error).name,
      ),
    );
    expect([...codes].sort()).toEqual(
      expect.arrayContaining([
        'INVALID_TOKEN_RESPONSE',
        'PERSIST_FAILED',
        'REFRESH_FAILED',
        'REFRESH_TIMEOUT',
        'REQUEST_NOT_REPLAYABLE',
        'SESSION_EXPIRED',
        'TOKENS_LOAD_FAILED',
        'TypeError',
        'http 401',
        'http 500',
      ]),
    );
    if (refresh === grant) expect(codes).toContain('CONFIGURATION_ERROR');
    expect(events.length).toBeGreaterThan(5);
    expectNoSecret(errors);
    expectNoSecret(events);
    expectNoSecret(debug);
  });

  it('keeps tokens out of console.log(error) too for the request errors (the Node request with its raw headers is hidden) and for refreshTokenGrant’s errors', async () => {
    const { errors, events } = await provokeEverything(grant);
    const inspected = (value: unknown): string[] => [inspect(value, { depth: 8 })];
    // Except where `cause` is what the app's own onTokens or loader threw (its text is the app's), and a stream body
    // (config.data) that was piped into the Node request, which holds the headers as sent (see the README).
    const excluded = ['PERSIST_FAILED', 'TOKENS_LOAD_FAILED', 'REQUEST_NOT_REPLAYABLE'];
    const ours = errors.filter((e) => !(isTokenRefreshError(e) && excluded.includes(e.code)));
    expect(ours.length).toBeGreaterThan(10);
    expectNoSecret(ours, inspected);
    expectNoSecret(
      events.filter((e) => !(isTokenRefreshError(e) && excluded.includes(e.code))),
      inspected,
    );
  });

  it('redacts Authorization in error.config by default; the request can still be sent again through the instance', async () => {
    const client = instance();
    const tokens = issue();
    attachRefresh(client, { tokens, refresh: customRefresh(() => api.url) });
    const error = await caught(client.get('/boom'));
    if (!axios.isAxiosError(error) || !error.config) throw new Error('expected an AxiosError');

    expect(error.config.headers['Authorization']).toBe('Bearer [REDACTED]');
    expectNoSecret([error]);
    expect(error.request).toBeDefined();
    const again = await caught(client.request(error.config));
    expect(axios.isAxiosError(again) && again.response?.status).toBe(500);
  });

  it('keeps Authorization in error.config with redactAuthorization: false', async () => {
    const client = instance();
    const tokens = issue();
    attachRefresh(client, { tokens, refresh: customRefresh(() => api.url), redactAuthorization: false });
    const error = await caught(client.get('/boom'));
    expect(axios.isAxiosError(error) && error.config?.headers['Authorization']).toBe(`Bearer ${tokens.accessToken}`);
    expect(inspect(error)).toContain(tokens.accessToken);
  });
});

describe('the debug option', () => {
  it('reports the refresh with its reason, outcome and duration, the waiting requests and the replays, and never a token', async () => {
    const debug: DebugEvent[] = [];
    const client = instance();
    attachRefresh(client, {
      tokens: issue(),
      refresh: customRefresh(() => api.url),
      debug: (event) => debug.push(event),
    });
    live.clear();
    tokenMode = 'slow';

    await Promise.all(Array.from({ length: 5 }, (_, i) => client.get(`/data?i=${i}`)));
    await client.get(`${other.url}/x`);
    await client.get('/data', { skipAuthRefresh: true }).catch(() => undefined);

    const starts = debug.filter((e) => e.type === 'refresh:start');
    const ends = debug.filter((e) => e.type === 'refresh:end');
    expect(starts).toEqual([{ type: 'refresh:start', reason: 'unauthorized', version: 0 }]);
    expect(ends).toEqual([{ type: 'refresh:end', outcome: 'ok', version: 0, durationMs: expect.any(Number) }]);
    expect(ends[0]?.type === 'refresh:end' && ends[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(debug.filter((e) => e.type === 'request:wait')).toHaveLength(5);
    expect(debug.filter((e) => e.type === 'request:replay')).toHaveLength(5);
    expect(debug.filter((e) => e.type === 'request:replay')[0]).toMatchObject({
      method: 'GET',
      url: expect.stringMatching(/^\/data\?i=\d$/),
      replay: 1,
    });
    expect(debug).toContainEqual({ type: 'request:skip', method: 'GET', url: `${other.url}/x`, why: 'origin' });
    expect(debug).toContainEqual({ type: 'request:skip', method: 'GET', url: '/data', why: 'skip' });
    expectNoSecret(debug);
  });

  it('reports a failed refresh with its code as the outcome', async () => {
    const debug: DebugEvent[] = [];
    const client = instance();
    attachRefresh(client, {
      tokens: issue(),
      refresh: customRefresh(() => api.url),
      debug: (event) => debug.push(event),
    });
    live.clear();
    tokenMode = 'refuse';
    await caught(client.get('/data'));
    expect(debug.find((e) => e.type === 'refresh:end')).toMatchObject({ outcome: 'SESSION_EXPIRED' });
    expectNoSecret(debug);
  });
});
