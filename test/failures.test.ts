import axios, { type AxiosInstance } from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh, TokenRefreshError, type TokenSet } from '../src/index.js';
import { AuthServer, HttpRefusal, sleep } from './support/auth-server.js';
import { rejection } from './support/rejection.js';

let server: AuthServer;
let api: AxiosInstance;
let mock: MockAdapter;

beforeEach(() => {
  server = new AuthServer();
  api = axios.create({ baseURL: 'https://api.test' });
  mock = new MockAdapter(api);
  mock.onGet(/\/data/).reply((config) => (server.accepts(config.headers?.['Authorization']) ? [200] : [401]));
});

describe('attachRefresh(instance, options): failures', () => {
  it('ends the session when the refresh is refused with HTTP 400: every waiter rejects with SESSION_EXPIRED, tokens are cleared, onTokens(null) runs and sessionExpired fires once', async () => {
    const tokens = server.login();
    server.revokeAll();
    const onTokens = vi.fn();
    const auth = attachRefresh(api, {
      tokens,
      onTokens,
      refresh: async (current) => {
        await sleep(10);
        return server.refresh(current.refreshToken);
      },
    });
    const expired = vi.fn();
    auth.on('sessionExpired', expired);

    const errors = await Promise.all(Array.from({ length: 20 }, (_, i) => rejection(api.get(`/data/${i}`))));

    expect(errors.map((e) => e.code)).toEqual(Array(20).fill('SESSION_EXPIRED'));
    expect(new Set(errors.map((e) => e.config?.url)).size).toBe(20);
    expect(auth.getTokens()).toBeNull();
    expect(onTokens).toHaveBeenCalledExactlyOnceWith(null);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('rejects later 401s with SESSION_EXPIRED instead of a bare 401 once the session has ended', async () => {
    const tokens = server.login();
    server.revokeAll();
    attachRefresh(api, { tokens, refresh: async (current) => server.refresh(current.refreshToken) });
    await rejection(api.get('/data'));
    const later = await rejection(api.get('/data'));
    expect(later.code).toBe('SESSION_EXPIRED');
    expect(mock.history['get']?.at(-1)?.headers?.['Authorization']).toBeUndefined();
  });

  it('gives a 401 that comes back after the session ended the refusal the server sent (status, oauthError)', async () => {
    mock.reset();
    mock.onGet('/fast').reply(401);
    mock.onGet('/slow').reply(async () => {
      await sleep(50);
      return [401];
    });
    attachRefresh(api, {
      tokens: { accessToken: 'a', refreshToken: 'r' },
      refresh: () => {
        throw new TokenRefreshError('SESSION_EXPIRED', 'refused', { oauthError: 'invalid_grant', status: 400 });
      },
    });
    const [fast, slow] = await Promise.all([rejection(api.get('/fast')), rejection(api.get('/slow'))]);
    expect([fast.code, fast.oauthError, fast.status]).toEqual(['SESSION_EXPIRED', 'invalid_grant', 400]);
    expect([slow.code, slow.oauthError, slow.status, slow.config?.url]).toEqual([
      'SESSION_EXPIRED',
      'invalid_grant',
      400,
      '/slow',
    ]);
  });

  it('ends the session without calling refresh when there is no refresh token', async () => {
    const refresh = vi.fn(async () => ({ accessToken: 'x' }));
    server.login();
    attachRefresh(api, { tokens: { accessToken: 'dead' }, refresh });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('SESSION_EXPIRED');
    expect(refresh).not.toHaveBeenCalled();
  });

  it('refreshes without a refresh token when refreshTokenRequired is false (a cookie-based refresh)', async () => {
    server.rotate = false;
    const { refreshToken } = server.login();
    server.expireAccessTokens();
    const refresh = vi.fn(async () => server.refresh(refreshToken));
    attachRefresh(api, { tokens: { accessToken: 'dead' }, refresh, refreshTokenRequired: false });
    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('keeps the tokens on a transient failure (REFRESH_FAILED) and tries again on a later request', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    let attempt = 0;
    const refreshError = vi.fn();
    const auth = attachRefresh(api, {
      tokens,
      refresh: async (current) => {
        attempt += 1;
        if (attempt === 1) throw new HttpRefusal(503);
        return server.refresh(current.refreshToken);
      },
    });
    auth.on('refreshError', refreshError);

    const errors = await Promise.all([rejection(api.get('/data')), rejection(api.get('/data'))]);
    expect(errors.map((e) => [e.code, e.status])).toEqual([
      ['REFRESH_FAILED', 503],
      ['REFRESH_FAILED', 503],
    ]);
    expect(auth.getTokens()).toEqual(tokens);
    expect(refreshError).toHaveBeenCalledTimes(1);

    const sentBefore = mock.history['get']?.length ?? 0;
    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    // The token is known to be refused, so the next request refreshes before it is sent: one request, no 401.
    expect((mock.history['get']?.length ?? 0) - sentBefore).toBe(1);
  });

  it('classifies a network error of the refresh call as REFRESH_FAILED', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    const refreshApi = axios.create();
    new MockAdapter(refreshApi).onPost('/token').networkError();
    attachRefresh(api, {
      tokens,
      refresh: async () => (await refreshApi.post('/token')).data as TokenSet,
    });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('REFRESH_FAILED');
    expect(error.message).toMatch(/got no answer/);
  });

  it('fails with REFRESH_TIMEOUT when the refresh does not settle within refreshTimeoutMs, and aborts its signal', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    let signal: AbortSignal | undefined;
    attachRefresh(api, {
      tokens,
      refreshTimeoutMs: 50,
      refresh: (_current, context) => {
        signal = context.signal;
        return new Promise<TokenSet>(() => undefined);
      },
    });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('REFRESH_TIMEOUT');
    expect(signal?.aborted).toBe(true);
  });

  it('rejects with INVALID_TOKEN_RESPONSE and keeps the tokens when the refresh returns no access token', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    const auth = attachRefresh(api, { tokens, refresh: async () => ({ refreshToken: 'only' }) as TokenSet });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
    expect(error.message).toContain('accessToken');
    // Kept, but for the refresh token the answer carried: the one presented is spent (session 7 review).
    expect(auth.getTokens()).toEqual({ ...tokens, refreshToken: 'only' });
  });

  it('uses the new tokens and reports PERSIST_FAILED when onTokens throws', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    const auth = attachRefresh(api, {
      tokens,
      refresh: async (current) => server.refresh(current.refreshToken),
      onTokens: async () => {
        throw new Error('disk full');
      },
    });
    const failures: TokenRefreshError[] = [];
    auth.on('refreshError', (error) => failures.push(error));
    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    expect(auth.getTokens()?.refreshToken).not.toBe(tokens.refreshToken);
    expect(failures.map((e) => e.code)).toEqual(['PERSIST_FAILED']);
    expect((failures[0]?.cause as Error | undefined)?.message).toBe('disk full');
  });

  it('replays a request at most once and rejects with the second 401 when the server refuses every token', async () => {
    mock.reset();
    mock.onGet('/data').reply(401);
    let n = 0;
    const refresh = vi.fn(async () => ({ accessToken: `a${(n += 1)}`, refreshToken: `r${n}` }));
    attachRefresh(api, { tokens: { accessToken: 'a0', refreshToken: 'r0' }, refresh });
    const error: unknown = await api.get('/data').catch((e: unknown) => e);
    expect(axios.isAxiosError(error) && error.response?.status).toBe(401);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(mock.history['get']).toHaveLength(2);
  });

  it('does not deadlock when the refresh call goes through the same instance with skipAuthRefresh', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    mock.onPost('/token').reply((config) => {
      const { refreshToken } = JSON.parse(config.data as string) as { refreshToken: string };
      return [200, server.refresh(refreshToken)];
    });
    attachRefresh(api, {
      tokens,
      refreshTimeoutMs: 2_000,
      refresh: async (current) =>
        (await api.post('/token', { refreshToken: current.refreshToken }, { skipAuthRefresh: true })).data as TokenSet,
    });
    await expect(Promise.all([api.get('/data'), api.get('/data')])).resolves.toHaveLength(2);
  });

  it('rejects a waiting request at once with axios’s cancel error when its signal aborts, and the refresh goes on for the others', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    let finish!: () => void;
    const auth = attachRefresh(api, {
      tokens,
      refresh: async (current) => {
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        return server.refresh(current.refreshToken);
      },
    });
    const controller = new AbortController();
    void auth.refresh();
    const aborted = api.get('/data', { signal: controller.signal });
    const other = api.get('/data');
    controller.abort();
    const error: unknown = await aborted.catch((e: unknown) => e);
    expect(axios.isCancel(error)).toBe(true);
    finish();
    await expect(other).resolves.toMatchObject({ status: 200 });
    expect(server.refreshes).toBe(1);
  });

  it('does not let a late answer, after a timeout, overwrite tokens set since', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    let answer!: (t: TokenSet) => void;
    const auth = attachRefresh(api, {
      tokens,
      refreshTimeoutMs: 30,
      refresh: () =>
        new Promise<TokenSet>((resolve) => {
          answer = resolve;
        }),
    });
    expect((await rejection(api.get('/data'))).code).toBe('REFRESH_TIMEOUT');
    const newer = server.login();
    await auth.setTokens(newer);
    answer({ accessToken: 'late', refreshToken: 'late' });
    await sleep(5);
    expect(auth.getTokens()).toEqual(newer);
  });

  it('rejects a request whose body is a stream with REQUEST_NOT_REPLAYABLE instead of replaying it empty', async () => {
    const { Readable } = await import('node:stream');
    mock.onPost('/upload').reply((config) => (server.accepts(config.headers?.['Authorization']) ? [200] : [401]));
    const tokens = server.login();
    server.expireAccessTokens();
    attachRefresh(api, { tokens, refresh: async (current) => server.refresh(current.refreshToken) });
    const error = await rejection(api.post('/upload', Readable.from(['chunk'])));
    expect(error.code).toBe('REQUEST_NOT_REPLAYABLE');
    // The refresh still happened, so the next request goes out with a good token.
    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
  });

  it('does not refresh on a 401 whose challenge says insufficient_scope (RFC 6750 §3.1)', async () => {
    mock.reset();
    mock.onGet('/admin').reply(401, {}, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' });
    const refresh = vi.fn(async () => ({ accessToken: 'x' }));
    attachRefresh(api, { tokens: { accessToken: 'a', refreshToken: 'r' }, refresh });
    const error: unknown = await api.get('/admin').catch((e: unknown) => e);
    expect(axios.isAxiosError(error) && error.response?.status).toBe(401);
    expect(refresh).not.toHaveBeenCalled();
  });

  it('fails requests with TOKENS_LOAD_FAILED when the tokens loader throws, and loads again on the next request', async () => {
    let calls = 0;
    const tokens = server.login();
    attachRefresh(api, {
      tokens: async () => {
        calls += 1;
        if (calls === 1) throw new Error('storage unavailable');
        return tokens;
      },
      refresh: async (current) => server.refresh(current.refreshToken),
    });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('TOKENS_LOAD_FAILED');
    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
  });
});
