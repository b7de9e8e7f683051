import type { IncomingMessage, ServerResponse } from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh, type AttachRefreshOptions, type RefreshFunction, type TokenSet } from '../src/index.js';
import { refreshTokenGrant } from '../src/oauth2.js';
import { AuthServer, sleep } from './support/auth-server.js';
import { listen, readBody, refreshTokenOf, sendJson, type LocalServer } from './support/local-server.js';
import { rejection } from './support/rejection.js';

/**
 * A real token endpoint on 127.0.0.1 that misbehaves on purpose. `/data` is a resource guarded by an AuthServer
 * (rotation + reuse detection); `/token` answers with the next scripted misbehaviour, or else like a good server.
 * Every test ends with a defined token state and a code, and nothing hangs (each test has a short timeout).
 */

type TokenHandler = (context: { req: IncomingMessage; res: ServerResponse; refreshToken: string | undefined }) => void;

let auth: AuthServer;
let server: LocalServer;
let api: AxiosInstance;
/** Misbehaviours for the next token requests, in order; an empty queue means "answer like a good server". */
let script: TokenHandler[];
let tokenRequests: (string | undefined)[];

function wire(tokens: TokenSet): Record<string, unknown> {
  return { access_token: tokens.accessToken, refresh_token: tokens.refreshToken, token_type: 'Bearer', expires_in: 60 };
}

/** A good token endpoint: rotates, and answers invalid_grant (400) to a spent, unknown or revoked refresh token. */
const answerWell: TokenHandler = ({ res, refreshToken }) => {
  try {
    sendJson(res, 200, wire(auth.refresh(refreshToken)));
  } catch {
    sendJson(res, 400, { error: 'invalid_grant' });
  }
};

/** Rotates the refresh token (the server commits), then runs `then` instead of answering. */
const rotateThen =
  (then: (res: ServerResponse, body: string) => void): TokenHandler =>
  ({ res, refreshToken }) => {
    then(res, JSON.stringify(wire(auth.refresh(refreshToken))));
  };

beforeEach(async () => {
  auth = new AuthServer();
  script = [];
  tokenRequests = [];
  server = await listen((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.url === '/token') {
        const refreshToken = refreshTokenOf(req, body);
        tokenRequests.push(refreshToken);
        (script.shift() ?? answerWell)({ req, res, refreshToken });
        return;
      }
      if (auth.accepts(req.headers.authorization)) sendJson(res, 200, { ok: true });
      else {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        res.end();
      }
    })();
  });
  api = axios.create({ baseURL: server.url });
});

afterEach(async () => {
  await server.close();
});

/** What an app writes by hand: POST the refresh token as JSON, map the OAuth answer to a TokenSet. */
const customRefresh =
  (options: { passSignal: boolean } = { passSignal: true }): RefreshFunction =>
  async (current, { signal }) => {
    const { data } = await axios.post<Record<string, unknown>>(
      `${server.url}/token`,
      { refreshToken: current.refreshToken },
      options.passSignal ? { signal } : {},
    );
    return {
      accessToken: data.access_token as string,
      refreshToken: data.refresh_token as string,
      expiresAt: Date.now() + (data.expires_in as number) * 1000,
    };
  };

const grantRefresh = (): RefreshFunction =>
  refreshTokenGrant({ tokenUrl: `${server.url}/token`, clientId: 'app', clientSecret: 'client-secret-value' });

const variants = [
  ['a custom refresh (axios.post)', () => customRefresh()],
  ['refreshTokenGrant', grantRefresh],
] as const;

/** Logs in, expires the access token on the server, attaches: the first request gets a 401 and refreshes. */
function start(refresh: RefreshFunction, options: Partial<AttachRefreshOptions> = {}) {
  const tokens = auth.login();
  auth.expireAccessTokens();
  const attached = attachRefresh(api, { tokens, refresh, refreshTimeoutMs: 2_000, ...options } as AttachRefreshOptions);
  const errors: string[] = [];
  const expired = vi.fn();
  attached.on('refreshError', (error) => errors.push(error.code));
  attached.on('sessionExpired', expired);
  return { tokens, auth: attached, errors, expired };
}

describe.each(variants)('a hostile token endpoint, through %s', (_name, makeRefresh) => {
  const garbage: [string, TokenHandler, { custom: RegExp; grant: RegExp }][] = [
    [
      'answers 200 with an HTML page',
      ({ res }) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Service temporarily unavailable</body></html>');
      },
      { custom: /`accessToken` is `undefined`, expected a non-empty string/, grant: /the answer is not JSON/ },
    ],
    [
      'answers 200 with an empty body',
      ({ res }) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' });
        res.end();
      },
      { custom: /`accessToken` is `undefined`/, grant: /the answer is not JSON/ },
    ],
    [
      'answers 200 with access_token: 42',
      ({ res }) => sendJson(res, 200, { access_token: 42, token_type: 'Bearer', expires_in: 60 }),
      { custom: /`accessToken` is a value of type number/, grant: /`access_token` is a value of type number/ },
    ],
    [
      'answers 200 with expires_in: "soon"',
      ({ res }) => sendJson(res, 200, { access_token: 'at-x', token_type: 'Bearer', expires_in: 'soon' }),
      {
        custom: /`expiresAt` must be a finite number of epoch milliseconds, got `NaN`/,
        grant: /`expires_in` is a string that is not a number/,
      },
    ],
  ];

  it.each(garbage)(
    '%s: INVALID_TOKEN_RESPONSE naming the problem, tokens kept, the next request recovers',
    async (_what, handler, messages) => {
      script.push(handler);
      const { tokens, auth: session, errors } = start(makeRefresh());

      const error = await rejection(api.get('/data'));

      expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
      expect(error.message).toMatch(makeRefresh === grantRefresh ? messages.grant : messages.custom);
      expect(session.getTokens()).toEqual(tokens);
      expect(errors).toEqual(['INVALID_TOKEN_RESPONSE']);
      // The endpoint did not rotate, so the same refresh token still works once it behaves.
      await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
      expect(auth.reused).toEqual([]);
    },
  );

  it('answers 500, then recovers: REFRESH_FAILED with status 500 and tokens kept, then the next request refreshes and succeeds', async () => {
    script.push(({ res }) => sendJson(res, 500, { error: 'server_error' }));
    const { tokens, auth: session } = start(makeRefresh());

    const error = await rejection(api.get('/data'));
    expect([error.code, error.status]).toEqual(['REFRESH_FAILED', 500]);
    expect(session.getTokens()).toEqual(tokens);

    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    expect(tokenRequests).toEqual([tokens.refreshToken, tokens.refreshToken]);
    expect(session.getTokens()?.refreshToken).not.toBe(tokens.refreshToken);
  });

  it('answers 429 with a long Retry-After: REFRESH_FAILED with status 429 and retryAfterMs, tokens kept', async () => {
    script.push(({ res }) => sendJson(res, 429, { error: 'slow_down' }, { 'retry-after': '120' }));
    const { tokens, auth: session } = start(makeRefresh());

    const error = await rejection(api.get('/data'));
    expect([error.code, error.status, error.retryAfterMs]).toEqual(['REFRESH_FAILED', 429, 120_000]);
    expect(session.getTokens()).toEqual(tokens);
  });

  it('closes the connection mid-response: REFRESH_FAILED at once, tokens kept; it had rotated, so the next attempt ends the session', async () => {
    script.push(
      rotateThen((res, body) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.slice(0, 10));
        setTimeout(() => res.socket?.destroy(), 20);
      }),
    );
    const { tokens, auth: session, expired } = start(makeRefresh());

    const first = await rejection(api.get('/data'));
    expect(first.code).toBe('REFRESH_FAILED');
    expect(first.message).toMatch(
      makeRefresh === grantRefresh
        ? /the request did not complete \(ERR_BAD_RESPONSE\)/
        : /the refresh call's answer \(HTTP 200\) did not arrive whole \(ERR_BAD_RESPONSE\)/,
    );
    expect(session.getTokens()).toEqual(tokens);

    const second = await rejection(api.get('/data'));
    expect(second.code).toBe('SESSION_EXPIRED');
    expect(session.getTokens()).toBeNull();
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('accepts the refresh, then the connection drops before the client reads it: REFRESH_FAILED, tokens kept; the next attempt presents the spent token, the server revokes the grant, SESSION_EXPIRED', async () => {
    script.push(rotateThen((res) => res.socket?.destroy()));
    const { tokens, auth: session, errors, expired } = start(makeRefresh());

    const first = await rejection(api.get('/data'));
    expect(first.code).toBe('REFRESH_FAILED');
    expect(first.message).toMatch(/ECONNRESET/);
    expect(session.getTokens()).toEqual(tokens);

    // The plugin cannot know the server rotated; it keeps the only refresh token it has and tries it again.
    const second = await rejection(api.get('/data'));
    expect(second.code).toBe('SESSION_EXPIRED');
    expect(tokenRequests).toEqual([tokens.refreshToken, tokens.refreshToken]);
    expect(auth.reused).toEqual([tokens.refreshToken]);
    expect(auth.revoked).toBe(true);
    expect(session.getTokens()).toBeNull();
    expect(errors).toEqual(['REFRESH_FAILED', 'SESSION_EXPIRED']);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('does not answer within refreshTimeoutMs: REFRESH_TIMEOUT, the HTTP call is aborted (no late answer can land), tokens kept', async () => {
    let closed = false;
    script.push(({ req }) => {
      // Never answers; notices the client hanging up.
      req.socket.on('close', () => {
        closed = true;
      });
    });
    const { tokens, auth: session } = start(makeRefresh(), { refreshTimeoutMs: 300 });

    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('REFRESH_TIMEOUT');
    expect(session.getTokens()).toEqual(tokens);
    await vi.waitFor(() => expect(closed).toBe(true));
  });
});

describe('a hostile token endpoint, through refreshTokenGrant only', () => {
  it('answers 429 with a short Retry-After: refreshTokenGrant waits and retries once, and the request succeeds', async () => {
    script.push(({ res }) => sendJson(res, 429, { error: 'slow_down' }, { 'retry-after': '1' }));
    const { tokens } = start(grantRefresh());

    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    expect(tokenRequests).toEqual([tokens.refreshToken, tokens.refreshToken]);
  });

  it('answers 200 with a negative expires_in: INVALID_TOKEN_RESPONSE saying so', async () => {
    script.push(({ res }) => sendJson(res, 200, { access_token: 'at-x', token_type: 'Bearer', expires_in: -60 }));
    start(grantRefresh());
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
    expect(error.message).toMatch(/`expires_in` is `-60` \(number\), expected a number of seconds >= 0/);
  });
});

describe('a hostile token endpoint, through a custom refresh', () => {
  it('answers 200 with a negative expires_in (an expiresAt in the past): the tokens are used, and it does not refresh on every request', async () => {
    script.push(({ res, refreshToken }) =>
      sendJson(res, 200, { ...wire(auth.refresh(refreshToken)), expires_in: -60 }),
    );
    const { auth: session } = start(customRefresh());

    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    for (let i = 0; i < 3; i += 1) await api.get('/data');
    expect(tokenRequests).toHaveLength(1);
    expect(session.getTokens()?.expiresAt).toBeLessThan(Date.now());
  });
});

describe('a late answer (the refresh ignores its signal and the endpoint answers after refreshTimeoutMs)', () => {
  /** The endpoint rotates at once and answers `delayMs` later. */
  const slowly = (delayMs: number): TokenHandler =>
    rotateThen((res, body) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      }, delayMs);
    });

  it('is adopted when nothing newer happened since, so the rotated refresh token is not lost', async () => {
    script.push(slowly(300));
    const { auth: session, errors } = start(customRefresh({ passSignal: false }), { refreshTimeoutMs: 100 });
    const late = vi.fn();
    session.on('tokens', late);

    expect((await rejection(api.get('/data'))).code).toBe('REFRESH_TIMEOUT');
    await vi.waitFor(() => expect(late).toHaveBeenCalledTimes(1));

    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    expect(tokenRequests).toHaveLength(1);
    expect(auth.reused).toEqual([]);
    expect(errors).toEqual(['REFRESH_TIMEOUT']);
  });

  it('does not overwrite tokens set with setTokens() after the timeout', async () => {
    script.push(slowly(300));
    const onTokens = vi.fn();
    const { auth: session } = start(customRefresh({ passSignal: false }), { refreshTimeoutMs: 100, onTokens });

    expect((await rejection(api.get('/data'))).code).toBe('REFRESH_TIMEOUT');
    const newer = auth.login();
    await session.setTokens(newer);
    await sleep(400);

    expect(session.getTokens()).toEqual(newer);
    expect(onTokens.mock.calls).toEqual([[newer]]);
    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
  });

  it('does not resurrect a session that ended after the timeout', async () => {
    script.push(slowly(400));
    const onTokens = vi.fn();
    const {
      tokens,
      auth: session,
      expired,
    } = start(customRefresh({ passSignal: false }), { refreshTimeoutMs: 100, onTokens });

    expect((await rejection(api.get('/data'))).code).toBe('REFRESH_TIMEOUT');
    // Before the late answer lands, the next attempt presents the (spent) refresh token: the grant is revoked.
    expect((await rejection(api.get('/data'))).code).toBe('SESSION_EXPIRED');
    expect(auth.reused).toEqual([tokens.refreshToken]);
    await sleep(450);

    expect(session.getTokens()).toBeNull();
    expect(onTokens.mock.calls).toEqual([[null]]);
    expect(expired).toHaveBeenCalledTimes(1);
    expect((await rejection(api.get('/data'))).code).toBe('SESSION_EXPIRED');
  });
});
