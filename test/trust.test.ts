import { inspect } from 'node:util';
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  attachRefresh,
  createTokenSession,
  MemoryTokenStore,
  type DebugEvent,
  type StoredTokens,
  type TokenSet,
  type TokenStore,
} from '../src/index.js';
import { AuthServer, sleep } from './support/auth-server.js';
import { malformedRecord } from '../src/store.js';
import { listen, readBody, type LocalServer } from './support/local-server.js';
import { rejection } from './support/rejection.js';

/** A promise settled from outside. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/**
 * One memory store shared by several sessions, as a Redis or browser store is: `view()` gives each session its own
 * handle, whose subscribers hear the writes made through the other handles (the TokenStore contract).
 */
class SharedMemoryStore {
  readonly #inner = new MemoryTokenStore();
  readonly #views = new Set<{ listeners: Set<(stored: StoredTokens) => void> }>();
  view(): TokenStore {
    const self = { listeners: new Set<(stored: StoredTokens) => void>() };
    this.#views.add(self);
    const inner = this.#inner;
    const views = this.#views;
    return {
      read: () => inner.read(),
      write: (tokens, expectedVersion, ended) => {
        const written = inner.write(tokens, expectedVersion, ended);
        if (written) {
          for (const view of views) {
            if (view === self) continue;
            queueMicrotask(() => {
              for (const listener of view.listeners) listener(written);
            });
          }
        }
        return written;
      },
      withLock: (task, options) => inner.withLock(task, options),
      subscribe: (listener) => {
        self.listeners.add(listener);
        return () => self.listeners.delete(listener);
      },
    };
  }
}

let server: AuthServer;
let api: AxiosInstance;
let mock: MockAdapter;
const servers: LocalServer[] = [];

beforeEach(() => {
  server = new AuthServer();
  api = axios.create({ baseURL: 'https://api.test' });
  mock = new MockAdapter(api);
  mock.onGet(/\/data/).reply((config) => (server.accepts(config.headers?.['Authorization']) ? [200, 'ok'] : [401]));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('one instance, one attachment', () => {
  it('refuses a second attachRefresh on the same instance with a TypeError that says to detach() or share { session }', () => {
    const tokens = server.login();
    const refresh = async (current: TokenSet) => server.refresh(current.refreshToken);
    attachRefresh(api, { tokens, refresh });
    const again = () => attachRefresh(api, { tokens, refresh });
    expect(again).toThrow(TypeError);
    expect(again).toThrow(/already has axios-token-refresh attached/);
    expect(again).toThrow(/detach\(\)/);
    expect(again).toThrow(/\{ session: auth\.session \}/);
  });

  it('refuses a second attachment before it builds a session: nothing subscribes to the store, nothing is left open', () => {
    const tokens = server.login();
    const refresh = async (current: TokenSet) => server.refresh(current.refreshToken);
    const open = new Set<object>();
    const store = Object.assign(new MemoryTokenStore(tokens), {
      subscribe: () => {
        const subscription = {};
        open.add(subscription);
        return () => open.delete(subscription);
      },
    });
    attachRefresh(api, { tokens: null, refresh, store });
    expect(open.size).toBe(1);
    expect(() => attachRefresh(api, { tokens: null, refresh, store })).toThrow(/already has axios-token-refresh/);
    expect(open.size).toBe(1);
  });

  it('leaves the instance free when the attachment is refused for a bad option, so a right one can follow', () => {
    const tokens = server.login();
    const refresh = async (current: TokenSet) => server.refresh(current.refreshToken);
    expect(() => attachRefresh(api, { session: {} as never })).toThrow(/createTokenSession/);
    expect(() => attachRefresh(api, { tokens, refresh })).not.toThrow();
  });

  it('attaches again after detach(), and the new attachment alone refreshes (one refresh, no spent token reused)', async () => {
    const tokens = server.login();
    const refresh = vi.fn(async (current: TokenSet) => server.refresh(current.refreshToken));
    attachRefresh(api, { tokens, refresh }).detach();
    attachRefresh(api, { tokens, refresh });
    server.expireAccessTokens();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => api.get(`/data/${i}`)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(server.revoked).toBe(false);
  });
});

describe('a login always wins', () => {
  it('sends requests made after setTokens() with the new tokens at once, while the old refresh hangs; the waiting ones too', async () => {
    const old = server.login();
    const hung = deferred<TokenSet>();
    const refresh = vi.fn(() => hung.promise);
    const auth = attachRefresh(api, { tokens: old, refresh, refreshTimeoutMs: 600_000 });
    server.expireAccessTokens();
    const waiting = api.get('/data/waiting');
    await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));

    const login = server.login();
    await auth.setTokens(login);
    const after = await api.get('/data/after');
    expect(after.config.headers['Authorization']).toBe(`Bearer ${login.accessToken}`);
    expect((await waiting).status).toBe(200);
    expect(server.seen.slice(-2).sort()).toEqual([login.accessToken, login.accessToken]);

    // The stale refresh's late answer is ignored.
    hung.resolve({ accessToken: 'late', refreshToken: 'late-rt' });
    await sleep(10);
    expect(auth.getTokens()).toEqual(login);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('replaces a tokens loader that hangs: setTokens() neither waits for it nor fails', async () => {
    const auth = attachRefresh(api, {
      tokens: () => new Promise<TokenSet | null>(() => undefined),
      refresh: async () => server.login(),
    });
    const before = api.get('/data/before');
    const login = server.login();
    await auth.setTokens(login);
    expect((await api.get('/data/after')).config.headers['Authorization']).toBe(`Bearer ${login.accessToken}`);
    expect((await before).status).toBe(200);
  });

  it('replaces a tokens loader that failed: setTokens() works and no TOKENS_LOAD_FAILED follows', async () => {
    const auth = attachRefresh(api, {
      tokens: async () => {
        throw new Error('keychain locked');
      },
      refresh: async () => server.login(),
    });
    expect((await rejection(api.get('/data/first'))).code).toBe('TOKENS_LOAD_FAILED');
    const login = server.login();
    await auth.setTokens(login);
    expect((await api.get('/data/after')).status).toBe(200);
  });
});

describe('listeners never crash the app', () => {
  // Captured instead of printed, so that a passing run shows no warning lines.
  let warnings: Error[];
  beforeEach(() => {
    warnings = [];
    vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error) => {
      warnings.push(typeof warning === 'string' ? new Error(warning) : warning);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(['tokens', 'refreshError', 'sessionExpired'] as const)(
    'reports a throwing `%s` listener as a process warning (no uncaught exception), and the other listeners and requests go on',
    async (event) => {
      const tokens = server.login();
      if (event !== 'tokens') server.revokeAll();
      else server.expireAccessTokens();
      const auth = attachRefresh(api, { tokens, refresh: async (current) => server.refresh(current.refreshToken) });
      const other = vi.fn();
      auth.on(event, () => {
        throw new Error(`listener bug with ${tokens.refreshToken}`);
      });
      auth.on(event, other);
      const outcome = await api.get('/data').then(
        () => 'ok',
        (error: { code?: string }) => error.code,
      );
      expect(outcome).toBe(event === 'tokens' ? 'ok' : 'SESSION_EXPIRED');
      await sleep(20);
      expect(other).toHaveBeenCalledTimes(1);
      const ours = warnings.filter((warning) => warning.name === 'TokenRefreshWarning');
      expect(ours).toHaveLength(1);
      expect(ours[0]?.message).toContain(`\`${event}\` listener threw`);
      expect(ours[0]?.message).not.toContain(tokens.refreshToken);
    },
  );

  it('reports a throwing debug hook as a warning; the refresh and requests are not affected', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    attachRefresh(api, {
      tokens,
      refresh: async (current) => server.refresh(current.refreshToken),
      debug: () => {
        throw new Error('logger down');
      },
    });
    expect((await api.get('/data')).status).toBe(200);
    await sleep(20);
    expect(warnings.some((warning) => /`debug` hook threw/.test(warning.message))).toBe(true);
  });

  it('sends a listener error to the debug hook when there is one, typed by event name', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    const events: DebugEvent[] = [];
    const auth = attachRefresh(api, {
      tokens,
      refresh: async (current) => server.refresh(current.refreshToken),
      debug: (e) => events.push(e),
    });
    const bug = new Error('bug');
    auth.on('tokens', () => {
      throw bug;
    });
    await api.get('/data');
    expect(events).toContainEqual({ type: 'listener:error', event: 'tokens', error: bug });
  });
});

describe('attaching to the default axios changes nothing else', () => {
  it('leaves axios.defaults alone: an instance created afterwards keeps its own Authorization on a same-origin redirect', async () => {
    const seen: (string | undefined)[] = [];
    const target = await listen((req, res) => {
      if (req.url === '/start') {
        res.writeHead(302, { location: '/final' });
        res.end();
        return;
      }
      seen.push(req.headers.authorization);
      res.end('ok');
    });
    servers.push(target);
    const auth = attachRefresh(axios, {
      tokens: { accessToken: 'default-token' },
      refresh: async () => ({ accessToken: 'x' }),
    });
    try {
      expect(axios.defaults.beforeRedirect).toBeUndefined();
      const other = axios.create();
      expect(other.defaults.beforeRedirect).toBeUndefined();
      await other.get(`${target.url}/start`, { headers: { Authorization: 'Bearer other-instance' } });
      expect(seen).toEqual(['Bearer other-instance']);
    } finally {
      auth.detach();
    }
  });
});

describe('secrets never leave through a custom refresh’s error', () => {
  it.each([
    [500, 'REFRESH_FAILED'],
    [400, 'SESSION_EXPIRED'],
  ] as const)(
    'scrubs the refresh and access tokens from an AxiosError (HTTP %i) in every way it can be printed, without changing the app’s own error',
    async (status, code) => {
      const secretRefresh = 'rt-SECRET/with+chars=';
      const secretAccess = 'at-SECRET-access';
      const tokenEndpoint = await listen((req, res) => {
        void readBody(req).then(() => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: status === 400 ? 'invalid_grant' : 'server_error' }));
        });
      });
      servers.push(tokenEndpoint);
      let original: AxiosError | undefined;
      const auth = attachRefresh(api, {
        tokens: { accessToken: secretAccess, refreshToken: secretRefresh },
        refresh: async (current) => {
          try {
            await axios.post(
              `${tokenEndpoint.url}/token?refresh_token=${encodeURIComponent(current.refreshToken ?? '')}`,
              { refresh_token: current.refreshToken },
              {
                headers: { 'X-Refresh': current.refreshToken, Authorization: `Bearer ${current.accessToken}` },
                params: { rt: current.refreshToken },
              },
            );
          } catch (error) {
            original = error as AxiosError;
            throw error;
          }
          return { accessToken: 'never' };
        },
      });
      const reported = vi.fn();
      auth.on('refreshError', reported);
      mock.onGet('/data').reply(401);
      const error = await rejection(api.get('/data'));
      expect(error.code).toBe(code);
      for (const value of [
        error,
        error.cause,
        reported.mock.calls[0]?.[0],
        (reported.mock.calls[0]?.[0] as Error | undefined)?.cause,
      ]) {
        const printed = [
          String(value),
          JSON.stringify(value),
          inspect(value, { depth: 12, showHidden: true }),
          JSON.stringify((value as { toJSON?: () => unknown }).toJSON?.()),
        ].join('\n');
        expect(printed).not.toContain('SECRET');
      }
      expect(axios.isAxiosError(error.cause)).toBe(true);
      expect(inspect(error.cause, { depth: 12 })).toContain('[REDACTED]');
      // The app's own error object is untouched: it still holds what it sent.
      expect(String(original?.config?.data)).toContain(secretRefresh);
    },
  );
});

describe('fewer silent failures', () => {
  it('rejects tokens left out (no store) with a TypeError that says to pass null', () => {
    expect(() => attachRefresh(api, { refresh: async () => server.login() } as never)).toThrow(
      /`null` for "not logged in yet"/,
    );
    expect(() => createTokenSession({ refresh: async () => server.login() } as never)).toThrow(TypeError);
  });

  it('reports a request sent with no token at all to the debug hook, with the reason', async () => {
    const events: DebugEvent[] = [];
    attachRefresh(api, { tokens: null, refresh: async () => server.login(), debug: (e) => events.push(e) });
    await api.get('/data').catch(() => undefined);
    expect(events).toContainEqual({ type: 'request:skip', method: 'GET', url: '/data', why: 'no-token' });
  });
});

describe('a shared store never hangs, and ends a session everywhere', () => {
  it('fails a request with STORE_FAILED, keeping the tokens, when the store never answers a read', async () => {
    const tokens = server.login();
    const store: TokenStore = {
      read: () => new Promise<StoredTokens>(() => undefined),
      write: () => new Promise<StoredTokens | null>(() => undefined),
      withLock: (task) => task({ signal: new AbortController().signal }),
    };
    const auth = attachRefresh(api, { store, tokens, refresh: async () => server.login(), refreshTimeoutMs: 300 });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('STORE_FAILED');
    expect(error.message).toMatch(/token store did not answer a read within 300 ms/);
    expect(auth.getTokens()).toBeNull();
  });

  it('says it was the store when a store read fails, with the store’s error as cause', async () => {
    const broken = new Error('connection refused');
    const store: TokenStore = {
      read: async () => {
        throw broken;
      },
      write: async () => null,
      withLock: (task) => task({ signal: new AbortController().signal }),
    };
    attachRefresh(api, { store, tokens: null, refresh: async () => server.login() });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('STORE_FAILED');
    expect(error.message).toMatch(/token store failed a read/);
    expect((error.cause as Error).message).toBe('connection refused');
  });

  it('ends the session in every session sharing the store when one learns the refresh token is dead: waiting requests reject with SESSION_EXPIRED, sessionExpired fires once in each', async () => {
    const store = new SharedMemoryStore();
    const tokens = server.login();
    server.revokeAll();
    const started = deferred<void>();
    const refresh = vi.fn(async (current: TokenSet) => {
      started.resolve();
      await sleep(30);
      return server.refresh(current.refreshToken);
    });
    const first = createTokenSession({ store: store.view(), tokens, refresh });
    const second = createTokenSession({ store: store.view(), tokens, refresh });
    const apis = [first, second].map((session) => {
      const instance = axios.create({ baseURL: 'https://api.test' });
      new MockAdapter(instance)
        .onGet(/\/data/)
        .reply((config) => (server.accepts(config.headers?.['Authorization']) ? [200] : [401]));
      attachRefresh(instance, { session });
      return instance;
    });
    const expired = [vi.fn(), vi.fn()];
    first.on('sessionExpired', expired[0] as () => void);
    second.on('sessionExpired', expired[1] as () => void);
    const errors = await Promise.all(
      apis.flatMap((instance) => Array.from({ length: 10 }, (_, i) => rejection(instance.get(`/data/${i}`)))),
    );
    expect(errors.map((e) => e.code)).toEqual(Array(20).fill('SESSION_EXPIRED'));
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(expired[0]).toHaveBeenCalledTimes(1);
    expect(expired[1]).toHaveBeenCalledTimes(1);
    expect(server.presented).toHaveLength(1);
  });
});

describe('logout() and getAccessToken()', () => {
  it('logout() revokes through the grant, clears the tokens in every session sharing the store, and fires tokens(null), not sessionExpired', async () => {
    const store = new SharedMemoryStore();
    const tokens = server.login();
    const revoked: TokenSet[] = [];
    const refresh = Object.assign(async (current: TokenSet) => server.refresh(current.refreshToken), {
      revoke: async (current: TokenSet) => {
        revoked.push(current);
      },
    });
    const first = createTokenSession({ store: store.view(), tokens, refresh });
    const second = createTokenSession({ store: store.view(), tokens, refresh });
    await second.getAccessToken();
    const events: (TokenSet | null)[] = [];
    const expired = vi.fn();
    second.on('tokens', (t) => events.push(t));
    second.on('sessionExpired', expired);
    const result = await first.logout();
    await sleep(5);
    expect(result).toEqual({ revoked: true });
    expect(revoked).toEqual([tokens]);
    expect(first.getTokens()).toBeNull();
    expect(second.getTokens()).toBeNull();
    expect(events).toEqual([null]);
    expect(expired).not.toHaveBeenCalled();
  });

  it('a logout in another session sharing the store is no refresh failure here: the refresh waiting for the lock ends without refreshError, and the next request goes out at once without a token', async () => {
    const store = new SharedMemoryStore();
    const tokens = server.login();
    const revoking = deferred<void>();
    const refresh = Object.assign(async (current: TokenSet) => server.refresh(current.refreshToken), {
      revoke: () => revoking.promise,
    });
    const other = axios.create({ baseURL: 'https://api.test' });
    const sent: unknown[] = [];
    new MockAdapter(other).onGet(/\/data/).reply((config) => {
      sent.push(config.headers?.['Authorization']);
      return server.accepts(config.headers?.['Authorization']) ? [200, 'ok'] : [401];
    });
    const leaving = attachRefresh(api, { store: store.view(), tokens, refresh });
    const staying = attachRefresh(other, { store: store.view(), tokens, refresh });
    expect((await other.get('/data')).status).toBe(200);
    const refreshErrors: string[] = [];
    staying.on('refreshError', (error) => refreshErrors.push(error.code));

    const loggingOut = leaving.logout(); // holds the refresh lock while the revocation is on the wire
    await sleep(5);
    server.expireAccessTokens();
    const waiting = rejection(other.get('/data')); // 401: its refresh waits for the lock
    await sleep(5);
    revoking.resolve();
    await loggingOut;

    expect((await waiting).code).toBe('LOGGED_OUT');
    expect(staying.getTokens()).toBeNull();
    const before = sent.length;
    expect((await rejection(other.get('/data'))).code).toBe('SESSION_EXPIRED');
    expect(sent.slice(before)).toEqual([undefined]);
    await sleep(20); // the refresh that waited for the lock has had it by now
    expect(refreshErrors).toEqual([]);
    expect(server.presented).toEqual([]);
  });

  it('logout() while revocation hangs clears the tokens within refreshTimeoutMs and reports the failure', async () => {
    const tokens = server.login();
    const refresh = Object.assign(async (current: TokenSet) => server.refresh(current.refreshToken), {
      revoke: () => new Promise<void>(() => undefined),
    });
    const auth = attachRefresh(api, { tokens, refresh, refreshTimeoutMs: 200 });
    const reported = vi.fn();
    auth.on('refreshError', reported);
    const result = await auth.logout();
    expect(result.revoked).toBe(false);
    expect(result.error?.code).toBe('REFRESH_TIMEOUT');
    expect(auth.getTokens()).toBeNull();
    expect(reported).toHaveBeenCalledTimes(1);
  });

  it('logout() fails requests waiting for a refresh with LOGGED_OUT', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    const hung = deferred<TokenSet>();
    const auth = attachRefresh(api, { tokens, refresh: () => hung.promise, refreshTimeoutMs: 300 });
    const waiting = rejection(api.get('/data'));
    await sleep(5);
    const loggingOut = auth.logout({ revoke: false });
    // At once, not when the hung refresh times out.
    expect((await waiting).code).toBe('LOGGED_OUT');
    await loggingOut;
    expect(auth.getTokens()).toBeNull();
  });

  it('getAccessToken(): 100 concurrent calls on an expired token cost one refresh, and all get the new token', async () => {
    const tokens = { ...server.login(), expiresAt: Date.now() - 1000 };
    const refresh = vi.fn(async (current: TokenSet) => {
      await sleep(10);
      return server.refresh(current.refreshToken);
    });
    const auth = attachRefresh(api, { tokens, refresh });
    const got = await Promise.all(Array.from({ length: 100 }, () => auth.getAccessToken()));
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(new Set(got)).toEqual(new Set([auth.getTokens()?.accessToken]));
    expect(got[0]).not.toBe(tokens.accessToken);
  });

  it('getAccessToken({ minValidityMs }) refreshes a token that expires sooner, and rejects with SESSION_EXPIRED when logged out', async () => {
    const tokens = { ...server.login(), expiresAt: Date.now() + 20_000 };
    const refresh = vi.fn(async (current: TokenSet) => server.refresh(current.refreshToken));
    const auth = attachRefresh(api, { tokens, refresh, leewayMs: 1000 });
    expect(await auth.getAccessToken()).toBe(tokens.accessToken);
    expect(refresh).not.toHaveBeenCalled();
    expect(await auth.getAccessToken({ minValidityMs: 30_000 })).not.toBe(tokens.accessToken);
    expect(refresh).toHaveBeenCalledTimes(1);
    await auth.setTokens(null);
    expect((await rejection(auth.getAccessToken())).code).toBe('SESSION_EXPIRED');
    await expect(auth.getAccessToken({ minValidityMs: -1 })).rejects.toThrow(
      /`minValidityMs` to be a finite number >= 0/,
    );
  });
});

describe('a grant that needs no refresh token (client credentials)', () => {
  it('gets a token on the first request with tokens: null, once for 50 concurrent requests, and again once after a 401', async () => {
    let issued = 0;
    const mint = Object.assign(
      async () => {
        issued += 1;
        await sleep(10);
        return { accessToken: `svc-${issued}` };
      },
      { needsRefreshToken: false },
    );
    mock.reset();
    let accepted = 'svc-1';
    mock
      .onGet(/\/data/)
      .reply((config) => (config.headers?.['Authorization'] === `Bearer ${accepted}` ? [200] : [401]));
    attachRefresh(api, { tokens: null, refresh: mint });
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => api.get(`/data/${i}`)));
    expect(first.every((r) => r.status === 200)).toBe(true);
    expect(issued).toBe(1);
    accepted = 'svc-2';
    const second = await Promise.all(Array.from({ length: 50 }, (_, i) => api.get(`/data/${i}`)));
    expect(second.every((r) => r.status === 200)).toBe(true);
    expect(issued).toBe(2);
  });
});

describe('a malformed record in a shared store', () => {
  /** A store whose record was overwritten with junk: read() rejects as the real stores do, until a write replaces it. */
  function junkStore(): TokenStore & { junk: boolean } {
    const inner = new MemoryTokenStore();
    const store = {
      junk: true,
      read: async (): Promise<StoredTokens> => {
        if (store.junk) throw malformedRecord('Reading tokens failed: the record there is malformed (it is not JSON)');
        return inner.read();
      },
      write: async (tokens: TokenSet | null, expectedVersion: number): Promise<StoredTokens | null> => {
        if (store.junk) {
          store.junk = false;
          return inner.write(tokens, inner.read().version);
        }
        return inner.write(tokens, expectedVersion);
      },
      withLock: <T>(
        task: (context: { signal: AbortSignal }) => Promise<T>,
        options: { leaseMs: number; waitMs: number },
      ) => inner.withLock(task, options),
    };
    return store;
  }

  it('is reported, never adopted, and replaced by the next login', async () => {
    const store = junkStore();
    const auth = attachRefresh(api, {
      store,
      tokens: null,
      refresh: async (current) => server.refresh(current.refreshToken),
    });
    const reported = vi.fn();
    auth.on('refreshError', reported);
    await api.get('/data').catch(() => undefined);
    expect(auth.getTokens()).toBeNull();
    expect(reported.mock.calls[0]?.[0]).toMatchObject({ code: 'STORE_FAILED' });
    const login = server.login();
    await auth.setTokens(login);
    expect(store.junk).toBe(false);
    expect((await store.read()).tokens).toEqual(login);
    expect((await api.get('/data')).status).toBe(200);
  });

  it('is replaced by the next refresh, which starts from the tokens the session holds', async () => {
    const tokens = server.login();
    const store = junkStore();
    store.junk = false;
    const auth = attachRefresh(api, {
      store,
      tokens,
      refresh: async (current) => server.refresh(current.refreshToken),
    });
    expect((await api.get('/data')).status).toBe(200);
    store.junk = true;
    server.expireAccessTokens();
    expect((await api.get('/data')).status).toBe(200);
    expect(store.junk).toBe(false);
    expect((await store.read()).tokens).toEqual(auth.getTokens());
    expect(server.reused).toEqual([]);
  });

  it('keeps the refreshed tokens when the store cannot write them (the old refresh token is spent)', async () => {
    const tokens = server.login();
    const inner = new MemoryTokenStore();
    let down = false;
    const store: TokenStore = {
      read: async () => inner.read(),
      write: async (next, expectedVersion) => {
        if (down) throw new Error('ECONNRESET');
        return inner.write(next, expectedVersion);
      },
      withLock: (task, options) => inner.withLock(task, options),
    };
    const auth = attachRefresh(api, {
      store,
      tokens,
      refresh: async (current) => server.refresh(current.refreshToken),
    });
    const reported = vi.fn();
    auth.on('refreshError', reported);
    expect((await api.get('/data')).status).toBe(200);
    down = true;
    server.expireAccessTokens();
    expect((await api.get('/data')).status).toBe(200);
    expect(auth.getTokens()?.refreshToken).not.toBe(tokens.refreshToken);
    expect(reported.mock.calls[0]?.[0]).toMatchObject({ code: 'STORE_FAILED' });
    down = false;
    server.expireAccessTokens();
    expect((await api.get('/data')).status).toBe(200);
    expect(server.reused).toEqual([]);
    expect((await store.read()).tokens).toEqual(auth.getTokens());
  });
});
