/**
 * Regression tests from the adversarial review of the trust fixes (issue 10 items 2, 3, 4, 5, 7, 8, the session side of
 * 10; issue 13's logout() and getAccessToken()). Every test here names something that broke before it was fixed.
 */
import { inspect } from 'node:util';
import axios, { type AxiosInstance } from 'axios';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  attachRefresh,
  type DebugEvent,
  type StoredTokens,
  type TokenSet,
  type TokenStore,
  MemoryTokenStore,
} from '../src/index.js';
import { AuthServer, sleep } from './support/auth-server.js';
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

/** Everything a developer might print an error with, joined. */
function printed(value: unknown): string {
  return [String(value), JSON.stringify(value), inspect(value, { depth: null, showHidden: true })].join('\n');
}

const servers: LocalServer[] = [];
let server: AuthServer;
let resource: LocalServer;
let api: AxiosInstance;

beforeEach(async () => {
  server = new AuthServer();
  // A real resource server on 127.0.0.1 (Node http adapter), accepting only the tokens AuthServer issued.
  resource = await listen((req, res) => {
    const ok = server.accepts(req.headers.authorization);
    res.writeHead(ok ? 200 : 401, { 'content-type': 'text/plain' });
    res.end(ok ? 'ok' : 'no');
  });
  servers.push(resource);
  api = axios.create({ baseURL: resource.url, adapter: 'http' });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('secrets never leave through a custom refresh’s error (item 7), with the errors real HTTP clients throw', () => {
  /** A token endpoint that answers 400 invalid_grant and echoes nothing. */
  async function refusingTokenEndpoint(): Promise<LocalServer> {
    const endpoint = await listen((req, res) => {
      void readBody(req).then(() => {
        res.writeHead(400, { 'content-type': 'application/json', 'x-request-id': 'r1' });
        res.end(JSON.stringify({ error: 'invalid_grant' }));
      });
    });
    servers.push(endpoint);
    return endpoint;
  }

  it('keeps the error printable when a fetch-based refresh (ky, ofetch style) throws an error holding the fetch Response: console.log/util.inspect of it must not throw', async () => {
    const endpoint = await refusingTokenEndpoint();
    const tokens = server.login();
    server.expireAccessTokens();
    let original: Error | undefined;
    attachRefresh(api, {
      tokens,
      refresh: async (current) => {
        const response = await fetch(`${endpoint.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
        });
        // What ky's HTTPError and ofetch's FetchError carry: the Response itself, with a status for classification.
        original = Object.assign(new Error(`Request failed with status code ${response.status}`), {
          response: Object.assign(response, {}),
          status: response.status,
        });
        throw original;
      },
    });
    const error = await rejection(api.get('/data'));
    // The app's own error is printable...
    expect(() => inspect(original)).not.toThrow();
    // ...so the session's copy of it must be too: an error handler that logs it must not crash.
    expect(() => inspect(error.cause)).not.toThrow();
    expect(() => inspect(error)).not.toThrow();
  });

  it('scrubs a token kept in a Map inside the thrown error (util.inspect prints Map entries)', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    attachRefresh(api, {
      tokens,
      refresh: async (current) => {
        throw Object.assign(new Error('refresh failed'), {
          response: { status: 500 },
          context: new Map<string, unknown>([['refresh_token', current.refreshToken]]),
        });
      },
    });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('REFRESH_FAILED');
    expect(printed(error.cause)).not.toContain(tokens.refreshToken);
  });

  it('scrubs a token nested deeper than eight levels (two app wrappers around an AxiosError-like error whose response echoes the input)', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    attachRefresh(api, {
      tokens,
      refresh: async (current) => {
        // GraphQL servers in development echo the input in `errors[].extensions.exception`.
        const http = Object.assign(new Error('Request failed with status code 500'), {
          response: {
            status: 500,
            data: {
              errors: [
                { message: 'boom', extensions: { exception: { input: { refreshToken: current.refreshToken } } } },
              ],
            },
          },
        });
        throw new Error('auth refresh failed', { cause: new Error('http layer failed', { cause: http }) });
      },
    });
    const error = await rejection(api.get('/data'));
    expect(printed(error)).not.toContain(tokens.refreshToken);
    expect(printed(error.cause)).not.toContain(tokens.refreshToken);
  });

  it('keeps the class’s own methods working on the scrubbed copy: an app error class with a private field whose toJSON reads it', async () => {
    class ApiError extends Error {
      readonly #status: number;
      constructor(message: string, status: number) {
        super(message);
        this.name = 'ApiError';
        this.#status = status;
      }
      toJSON(): Record<string, unknown> {
        return { name: this.name, message: this.message, status: this.#status };
      }
    }
    const tokens = server.login();
    server.expireAccessTokens();
    attachRefresh(api, {
      tokens,
      refresh: async (current) => {
        throw new ApiError(`refresh with ${current.refreshToken} failed`, 503);
      },
    });
    const error = await rejection(api.get('/data'));
    expect(error.cause).toBeInstanceOf(ApiError);
    expect(() => JSON.stringify(error.cause)).not.toThrow();
  });
});

describe('the debug hook never carries a token (docs/api.md: "Never carries a token")', () => {
  it('scrubs a listener’s error before handing it to the debug hook as listener:error', async () => {
    const tokens = server.login();
    server.expireAccessTokens();
    const events: DebugEvent[] = [];
    const auth = attachRefresh(api, {
      tokens,
      refresh: async (current) => server.refresh(current.refreshToken),
      // The documented example: debug: (event) => console.debug('[auth]', event)
      debug: (event) => events.push(event),
    });
    auth.on('tokens', (next) => {
      throw new Error(`could not save ${next?.refreshToken ?? ''} / ${next?.accessToken ?? ''}`);
    });
    expect((await api.get('/data')).status).toBe(200);
    const listenerErrors = events.filter((event) => event.type === 'listener:error');
    expect(listenerErrors).toHaveLength(1);
    const current = auth.getTokens();
    const text = inspect(events, { depth: null });
    expect(text).not.toContain(current?.refreshToken);
    expect(text).not.toContain(current?.accessToken);
  });
});

describe('listeners never crash the app (item 4): async listeners', () => {
  it('never turns an async `tokens` listener’s rejection into an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const tokens = server.login();
      server.expireAccessTokens();
      const auth = attachRefresh(api, { tokens, refresh: async (current) => server.refresh(current.refreshToken) });
      // The most common shape of a listener in app code: async, awaiting a save that fails.
      auth.on('tokens', async () => {
        await sleep(1);
        throw new Error('database down');
      });
      expect((await api.get('/data')).status).toBe(200);
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('logout() (issue 13)', () => {
  /** A refresh function shaped like a grant that knows a revocation endpoint (what refreshTokenGrant attaches). */
  function grantWithRevocation(revoked: string[], revokeDelay?: Promise<void>) {
    const refresh = async (current: TokenSet): Promise<TokenSet> => server.refresh(current.refreshToken);
    return Object.assign(refresh, {
      revoke: async (tokens: TokenSet): Promise<void> => {
        await revokeDelay;
        if (tokens.refreshToken !== undefined) revoked.push(tokens.refreshToken);
      },
    });
  }

  it('revokes the stored login even when no request has run yet (tokens come from a loader)', async () => {
    const login = server.login();
    const revoked: string[] = [];
    const onTokens = vi.fn();
    // The README’s shape: tokens loaded from storage on the first request; the user presses "Sign out" first.
    const auth = attachRefresh(api, { tokens: async () => login, refresh: grantWithRevocation(revoked), onTokens });
    const result = await auth.logout();
    expect(result).toEqual({ revoked: true });
    expect(revoked).toEqual([login.refreshToken]);
  });

  it('leaves no refresh token alive at the server when a refresh rotates it while logout() revokes', async () => {
    const login = server.login();
    const revoked: string[] = [];
    const refreshGate = deferred<void>();
    let rotated: TokenSet | undefined;
    const revokeGate = deferred<void>();
    const refresh = Object.assign(
      async (current: TokenSet): Promise<TokenSet> => {
        const next = server.refresh(current.refreshToken); // the server has rotated: a new refresh token exists
        rotated = next;
        await refreshGate.promise; // ...and its answer is on its way back
        return next;
      },
      {
        revoke: async (tokens: TokenSet): Promise<void> => {
          await revokeGate.promise;
          if (tokens.refreshToken !== undefined) revoked.push(tokens.refreshToken);
        },
      },
    );
    const auth = attachRefresh(api, { tokens: login, refresh });
    server.expireAccessTokens();
    const waiting = api.get('/data').then(
      () => 'sent',
      (error: { code?: string }) => error.code,
    );
    await vi.waitFor(() => expect(server.refreshes).toBe(1));
    const loggingOut = auth.logout();
    refreshGate.resolve(); // the rotated tokens arrive while the revocation is still on the wire
    await sleep(10);
    revokeGate.resolve();
    await loggingOut;
    expect(auth.getTokens()).toBeNull();
    // Every refresh token the server issued for this login must be revoked: the rotated one too.
    expect(rotated?.refreshToken).toBeDefined();
    expect(revoked).toContain(rotated?.refreshToken);
    // The request that was waiting for the refresh when logout() began fails with LOGGED_OUT, not sent with the rotated token.
    expect(await waiting).toBe('LOGGED_OUT');
  });

  it('clears the tokens locally even when the shared store fails during logout() (Redis down must not keep the user logged in)', async () => {
    const login = server.login();
    let broken = false;
    const inner = new MemoryTokenStore();
    const store: TokenStore = {
      read: async (): Promise<StoredTokens> => {
        if (broken) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return inner.read();
      },
      write: async (tokens, expectedVersion, ended) => {
        if (broken) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return inner.write(tokens, expectedVersion, ended);
      },
      withLock: (task, options) => inner.withLock(task, options),
    };
    const auth = attachRefresh(api, {
      tokens: login,
      store,
      refresh: async (current) => server.refresh(current.refreshToken),
    });
    expect((await api.get('/data')).status).toBe(200);
    broken = true;
    await auth.logout({ revoke: false }).catch(() => undefined);
    expect(auth.getTokens()).toBeNull();
    const seenBefore = server.seen.length;
    await api.get('/data').catch(() => undefined);
    // No request after logout() carries the login's access token.
    expect(server.seen.slice(seenBefore)).not.toContain(login.accessToken);
  });
  it('keeps a login made while an earlier logout() still waits for a slow revocation (a login always wins)', async () => {
    const revokeGate = deferred<void>();
    const refresh = Object.assign(
      async (current: TokenSet): Promise<TokenSet> => server.refresh(current.refreshToken),
      {
        revoke: () => revokeGate.promise, // the revocation endpoint hangs (bounded by refreshTimeoutMs: 30 s by default)
      },
    );
    const auth = attachRefresh(api, { tokens: server.login(), refresh });
    const loggingOut = auth.logout();
    await sleep(5);
    // Meanwhile the user signs in again.
    const login = server.login();
    await auth.setTokens(login);
    revokeGate.resolve();
    await loggingOut;
    expect(auth.getTokens()).toEqual(login);
    expect((await api.get('/data')).status).toBe(200);
  });

  it('revokes and announces null once when logout() is called twice at once (a double click on "Sign out")', async () => {
    const revoked: string[] = [];
    const onTokens = vi.fn();
    const auth = attachRefresh(api, {
      tokens: server.login(),
      refresh: grantWithRevocation(revoked, sleep(5)),
      onTokens,
    });
    const nulls = vi.fn();
    auth.on('tokens', nulls);
    await Promise.all([auth.logout(), auth.logout()]);
    expect(revoked).toHaveLength(1);
    expect(onTokens).toHaveBeenCalledTimes(1);
    expect(nulls).toHaveBeenCalledTimes(1);
  });
});

describe('getAccessToken() follows docs/api.md literally', () => {
  it('rejects with SESSION_EXPIRED after logout() ("Rejects with the codes a request would (SESSION_EXPIRED when logged out)")', async () => {
    const login = server.login();
    const auth = attachRefresh(api, {
      tokens: login,
      refresh: async (current) => server.refresh(current.refreshToken),
    });
    await auth.logout({ revoke: false });
    const request = await rejection(api.get('/data'));
    const direct = await rejection(auth.getAccessToken());
    expect(direct.code).toBe(request.code);
    expect(direct.code).toBe('SESSION_EXPIRED');
  });

  it('does not refresh on every call when tokens live shorter than the default minValidityMs (leewayMs is capped at half the lifetime, as for requests)', async () => {
    server.accessTtlMs = 8_000; // shorter than the default leewayMs of 10 s
    const refresh = vi.fn(async (current: TokenSet) => server.refresh(current.refreshToken));
    const auth = attachRefresh(api, { tokens: server.login(), refresh });
    // Requests go out without refreshing (the leeway is capped at 4 s for an 8 s token)...
    for (let i = 0; i < 5; i += 1) expect((await api.get('/data')).status).toBe(200);
    expect(refresh).not.toHaveBeenCalled();
    // ...so a WebSocket handshake that asks for the token five times should not refresh five times.
    for (let i = 0; i < 5; i += 1) await auth.getAccessToken();
    expect(refresh.mock.calls.length).toBeLessThanOrEqual(1);
  });
});
