import axios, { type AxiosInstance } from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh, type RefreshContext, type TokenSet } from '../src/index.js';
import { AuthServer, sleep } from './support/auth-server.js';

let server: AuthServer;
let api: AxiosInstance;
let mock: MockAdapter;

function serve(latencyMs = 0): void {
  mock.onGet(/\/data/).reply(async (config) => {
    if (latencyMs) await sleep(latencyMs);
    return server.accepts(config.headers?.['Authorization']) ? [200, { ok: true }] : [401];
  });
}

beforeEach(() => {
  server = new AuthServer();
  api = axios.create({ baseURL: 'https://api.test' });
  mock = new MockAdapter(api);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('attachRefresh(instance, options): single flight', () => {
  it('refreshes once for 1000 concurrent 401s and replays all of them', async () => {
    serve(5);
    const tokens = server.login();
    server.expireAccessTokens();
    const refresh = vi.fn(async (current: TokenSet) => {
      await sleep(20);
      return server.refresh(current.refreshToken);
    });
    attachRefresh(api, { tokens, refresh });

    const results = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => api.get(`/data/${i}`)));

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(server.reused).toEqual([]);
  });

  it('refreshes once before sending a burst after a known expiry, and the server serves no 401', async () => {
    serve(1);
    const tokens = { ...server.login(), expiresAt: Date.now() - 1000 };
    const refresh = vi.fn(async (current: TokenSet) => server.refresh(current.refreshToken));
    attachRefresh(api, { tokens, refresh });

    const results = await Promise.all(Array.from({ length: 500 }, () => api.get('/data')));

    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(server.served401).toBe(0);
  });

  it('never presents a rotated refresh token twice under staggered traffic straddling several expiries', async () => {
    serve(3);
    server.accessTtlMs = 40;
    const { expiresAt: _unknown, ...tokens } = server.login();
    const refresh = vi.fn(async (current: TokenSet) => {
      await sleep(5);
      return server.refresh(current.refreshToken);
    });
    // No known expiry: the client only learns from 401s, which arrive before, during and after each refresh.
    attachRefresh(api, { tokens, refresh });

    const requests: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i += 1) {
      requests.push(api.get('/data'));
      await sleep(1);
    }
    const results = await Promise.allSettled(requests);

    expect(server.reused).toEqual([]);
    expect(server.revoked).toBe(false);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(200);
    expect(refresh.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(refresh.mock.calls.length).toBe(server.presented.length);
  });

  it('replays a 401 for an older token with the current token, without refreshing again', async () => {
    serve();
    const tokens = server.login();
    const refresh = vi.fn(async (current: TokenSet) => server.refresh(current.refreshToken));
    const auth = attachRefresh(api, { tokens, refresh });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The first response is held until after the refresh caused by the second one.
    mock.onGet('/slow').replyOnce(async (config) => {
      const ok = server.accepts(config.headers?.['Authorization']);
      await gate;
      return ok ? [200] : [401];
    });
    mock.onGet('/slow').reply((config) => (server.accepts(config.headers?.['Authorization']) ? [200] : [401]));
    server.expireAccessTokens();
    const slow = api.get('/slow');
    await sleep(5);
    await api.get('/data');
    expect(refresh).toHaveBeenCalledTimes(1);
    release();

    await expect(slow).resolves.toMatchObject({ status: 200 });
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(auth.getTokens()?.accessToken).toBe(server.seen.at(-1));
  });

  it('makes new requests wait for a refresh in flight and sends them with the new token', async () => {
    serve();
    const tokens = server.login();
    let finish!: () => void;
    const refresh = vi.fn(async (current: TokenSet) => {
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      return server.refresh(current.refreshToken);
    });
    const auth = attachRefresh(api, { tokens, refresh });
    const manual = auth.refresh();
    const waiting = Array.from({ length: 10 }, () => api.get('/data'));
    await sleep(10);
    expect(mock.history['get']).toHaveLength(0);
    finish();
    await Promise.all([manual, ...waiting]);

    const newToken = auth.getTokens()?.accessToken;
    expect(newToken).not.toBe(tokens.accessToken);
    expect(mock.history['get']?.map((c) => c.headers?.['Authorization'])).toEqual(Array(10).fill(`Bearer ${newToken}`));
    expect(server.served401).toBe(0);
  });

  it('hands new tokens to onTokens and waits for it before replaying any request', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    const events: string[] = [];
    mock.onGet('/data').reply((config) => {
      events.push(`sent ${String(config.headers?.['Authorization'])}`);
      return server.accepts(config.headers?.['Authorization']) ? [200] : [401];
    });
    const auth = attachRefresh(api, {
      tokens,
      refresh: async (current) => server.refresh(current.refreshToken),
      onTokens: async (next) => {
        await sleep(30);
        events.push(`persisted ${next?.accessToken}`);
      },
    });
    await Promise.all([api.get('/data'), api.get('/data'), api.get('/data')]);

    const fresh = auth.getTokens()?.accessToken;
    const persistedAt = events.indexOf(`persisted ${fresh}`);
    const firstUse = events.indexOf(`sent Bearer ${fresh}`);
    expect(persistedAt).toBeGreaterThanOrEqual(0);
    expect(firstUse).toBeGreaterThan(persistedAt);
  });

  it('keeps the previous refresh token when the refresh returns none (RFC 6749 §6)', async () => {
    serve();
    const tokens = server.login();
    server.expireAccessTokens();
    const seen: (TokenSet | null)[] = [];
    const auth = attachRefresh(api, {
      tokens,
      refresh: async (current) => {
        const next = server.refresh(current.refreshToken);
        server.rotate = false;
        return { accessToken: next.accessToken as string, expiresAt: next.expiresAt as number };
      },
      onTokens: (next) => {
        seen.push(next);
      },
    });
    server.rotate = false;
    await api.get('/data');
    expect(auth.getTokens()?.refreshToken).toBe(tokens.refreshToken);
    expect(seen[0]?.refreshToken).toBe(tokens.refreshToken);
  });

  it('refreshes first when there is a refresh token but no access token, as after a restart', async () => {
    serve();
    const { refreshToken } = server.login();
    const refresh = vi.fn(async (current: TokenSet, _context: RefreshContext) => server.refresh(current.refreshToken));
    attachRefresh(api, { tokens: { refreshToken: refreshToken as string }, refresh });
    await Promise.all([api.get('/data'), api.get('/data')]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh.mock.calls[0]?.[1].reason).toBe('missing');
    expect(server.served401).toBe(0);
  });

  it('does not refresh on every request when the token lives shorter than the leeway', async () => {
    serve();
    server.accessTtlMs = 2_000;
    const refresh = vi.fn(async (current: TokenSet) => server.refresh(current.refreshToken));
    attachRefresh(api, { tokens: server.login(), refresh, leewayMs: 60_000 });
    for (let i = 0; i < 20; i += 1) await api.get('/data');
    expect(refresh).toHaveBeenCalledTimes(0);
  });

  it('refreshes inside the leeway, before the token expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    serve();
    server.accessTtlMs = 300_000;
    const refresh = vi.fn(async (current: TokenSet, _context: RefreshContext) => server.refresh(current.refreshToken));
    attachRefresh(api, { tokens: server.login(), refresh, leewayMs: 30_000 });
    await api.get('/data');
    vi.setSystemTime(Date.now() + 269_000);
    await api.get('/data');
    expect(refresh).toHaveBeenCalledTimes(0);
    vi.setSystemTime(Date.now() + 2_000);
    await api.get('/data');
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh.mock.calls[0]?.[1].reason).toBe('expired');
    expect(server.served401).toBe(0);
  });

  it('uses the JWT exp claim when expiresAt is missing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const jwt = `${btoa('{"alg":"none"}')}.${btoa(JSON.stringify({ exp })).replace(/=+$/, '')}.sig`;
    mock.onGet('/data').reply(200);
    const refresh = vi.fn(async () => ({ accessToken: 'opaque-2' }));
    const auth = attachRefresh(api, { tokens: { accessToken: jwt, refreshToken: 'r' }, refresh });
    expect(auth.getTokens()?.expiresAt).toBe(exp * 1000);
    vi.setSystemTime(exp * 1000 + 1);
    await api.get('/data');
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});
