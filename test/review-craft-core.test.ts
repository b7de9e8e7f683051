/**
 * Adversarial review of the issue-12 refactor ("craft") of the core: `git diff 93572f1..review-core -- src/attach.ts
 * src/session.ts src/scope.ts src/tokens.ts src/dpop.ts src/send-guard.ts src/redirect-guard.ts src/validate.ts`.
 * The refactor promised "every behaviour kept". Each test says what 93572f1 did; the ones that fail on this branch are
 * the findings, the others pin behaviour no test pinned before. Real servers on 127.0.0.1 where a server matters.
 */
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import axios, { type AxiosAdapter, type InternalAxiosRequestConfig } from 'axios';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDpop } from '../src/dpop.js';
import { attachRefresh, createTokenSession } from '../src/index.js';
import type { TokenSet } from '../src/index.js';
import { listen } from './support/local-server.js';
import type { LocalServer } from './support/local-server.js';

const servers: LocalServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const ok: AxiosAdapter = async (config) => ({ data: {}, status: 200, statusText: 'OK', headers: {}, config });

function claimsOf(proof: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('attachRefresh with DPoP: the send guard is for OTHER interceptors (othersIntercept)', () => {
  // FINDING. At 93572f1 attachRefresh took the length of the request-interceptor list BEFORE the DPoP signer was
  // installed, so `ours` held the signer too: with no interceptor of the app's, `othersIntercept()` was false and no
  // send guard was appended (no per-request transformRequest copy, no extra scope check at send time), as the comment
  // "the plugin's (and its DPoP signer's)" still says. installRequestPath now measures `before` AFTER the signer was
  // installed: the signer counts as the app's, and every DPoP request of every instance pays the send guard.
  it('appends no send guard to a DPoP request when the app has no request interceptor of its own (93572f1: none)', async () => {
    const dpop = await createDpop();
    let sent: InternalAxiosRequestConfig | undefined;
    const instance = axios.create({
      baseURL: 'https://api.example.com',
      adapter: async (config) => {
        sent = config;
        return ok(config);
      },
    });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', tokenType: 'DPoP' },
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP' }),
      dpop,
    });
    await instance.get('/data');
    expect(typeof sent?.headers['DPoP']).toBe('string');
    const defaults = instance.defaults.transformRequest as unknown[];
    const used = sent?.transformRequest as unknown[];
    // s9: the DPoP proof is made by the last transformRequest step (one step); no send guard beside it.
    expect(used.length).toBe(defaults.length + 1);
  });

  // Pins (passes on both): with a real interceptor of the app's, the guard is there either way.
  it('appends the send guard when the app has a request interceptor of its own (with DPoP)', async () => {
    const dpop = await createDpop();
    let sent: InternalAxiosRequestConfig | undefined;
    const instance = axios.create({
      baseURL: 'https://api.example.com',
      adapter: async (config) => {
        sent = config;
        return ok(config);
      },
    });
    instance.interceptors.request.use((config) => config);
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', tokenType: 'DPoP' },
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP' }),
      dpop,
    });
    await instance.get('/data');
    const defaults = instance.defaults.transformRequest as unknown[];
    // The send guard and (s9) the DPoP signing step.
    expect((sent?.transformRequest as unknown[] | undefined)?.length).toBe(defaults.length + 2);
  });
});

describe('getAccessToken({ minValidityMs }): the option read once', () => {
  // FINDING (minor). At 93572f1 getAccessToken read `options.minValidityMs` once (`const min = ...`), checked that
  // value and used it. Now checkOptions reads it (through readOptions) for the check, and #accessFor reads
  // `options.minValidityMs` again on every turn of the loop: a getter (or Proxy) can pass the check with one value and
  // be used with another, which the readOptions commit ("a getter cannot answer one thing to a check and another to
  // the code") set out to rule out.
  it('reads a getter minValidityMs exactly once (93572f1: once)', async () => {
    let reads = 0;
    const options = {
      get minValidityMs() {
        reads += 1;
        return 1_000;
      },
    };
    const auth = createTokenSession({
      tokens: { accessToken: 'at-1', expiresAt: Date.now() + 3_600_000 },
      refresh: async () => ({ accessToken: 'at-2' }),
    });
    expect(await auth.getAccessToken(options)).toBe('at-1');
    expect(reads).toBe(1);
  });

  it('does not use an unchecked value a getter answers on its second read (93572f1: checked value used)', async () => {
    let reads = 0;
    const options = {
      get minValidityMs() {
        reads += 1;
        // First read: valid. Later reads: what the check would have refused (a string).
        return reads === 1 ? 0 : ('7200000' as unknown as number);
      },
    };
    let refreshes = 0;
    const auth = createTokenSession({
      tokens: { accessToken: 'at-1', expiresAt: Date.now() + 3_600_000 },
      refresh: async () => {
        refreshes += 1;
        return { accessToken: 'at-2', expiresAt: Date.now() + 3_600_000 };
      },
    });
    // At 93572f1: min = 0, the token is valid for an hour more: at-1, no refresh.
    expect(await auth.getAccessToken(options)).toBe('at-1');
    expect(refreshes).toBe(0);
  });
});

describe('dpop.proof(request): `method` checked and used as one value', () => {
  // FINDING (minor). At 93572f1 proof() destructured `method` once and checked that value. Now
  // checkOptions(request, proofRules) reads it for the check, then `const { method } = request` reads it again: a
  // getter passes the check with 'GET' and the proof is signed with whatever the second read answers (unchecked).
  it('signs the method it checked (93572f1: htm is the checked value)', async () => {
    const dpop = await createDpop();
    let reads = 0;
    const request = {
      url: 'https://api.example.com/x',
      get method() {
        reads += 1;
        return reads === 1 ? 'GET' : 'GET\r\nX-Injected: 1';
      },
    };
    const proof = await dpop.proof(request as unknown as { method: string; url: string });
    expect(claimsOf(proof)['htm']).toBe('GET');
    expect(reads).toBe(1);
  });
});

describe('fake timers and within(): waiters are released', () => {
  // Pins (passes on both): a hung refresh times out under fake timers after refreshTimeoutMs, and the waiting
  // requests are rejected with REFRESH_TIMEOUT (within() adds a microtask hop, not a timer).
  it('rejects a waiting request with REFRESH_TIMEOUT when fake time passes refreshTimeoutMs', async () => {
    vi.useFakeTimers();
    const instance = axios.create({ baseURL: 'https://api.example.com', adapter: ok });
    const auth = attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1' },
      refresh: () => new Promise<TokenSet>(() => undefined),
      refreshTimeoutMs: 5_000,
    });
    const refresh = auth.refresh().catch((error: unknown) => error);
    const request = instance.get('/data').catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(5_001);
    expect(await refresh).toMatchObject({ code: 'REFRESH_TIMEOUT' });
    expect(await request).toMatchObject({ code: 'REFRESH_TIMEOUT' });
  });

  // Pins (passes on both): a hung refresh superseded by setTokens lets its waiters go with the new tokens, no timer.
  it('sends a waiting request with the tokens of a setTokens that superseded a hung refresh (fake timers)', async () => {
    vi.useFakeTimers();
    const seen: unknown[] = [];
    const instance = axios.create({
      baseURL: 'https://api.example.com',
      adapter: async (config) => {
        seen.push(config.headers.Authorization);
        return ok(config);
      },
    });
    const auth = attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1' },
      refresh: () => new Promise<TokenSet>(() => undefined),
    });
    const refresh = auth.refresh().catch((error: unknown) => error);
    const request = instance.get('/data');
    await auth.setTokens({ accessToken: 'login' });
    await vi.advanceTimersByTimeAsync(0);
    await request;
    expect(seen).toEqual(['Bearer login']);
    // refresh() answers with the tokens in use once a login superseded its flight.
    expect(await refresh).toMatchObject({ accessToken: 'login' });
  });
});

describe('every rejection of the 401 path redacted (fail with redactAuthorization on)', () => {
  const secrets = ['at-secret-1', 'at-secret-2', 'rt-secret-1', 'rt-secret-2'];
  function leaks(error: unknown): string[] {
    const text = `${JSON.stringify(error)} ${inspect(error, { depth: 8 })} ${String(error)}`;
    return secrets.filter((secret) => text.includes(secret));
  }
  async function refusing(): Promise<LocalServer> {
    const server = await listen((req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end();
      req.resume();
    });
    servers.push(server);
    return server;
  }

  // Pins (passes on both): replays used up, the server's own 401 comes back with the token redacted.
  it('replays used up: the AxiosError shows no token', async () => {
    const server = await refusing();
    const instance = axios.create({ baseURL: server.url });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-secret-1', refreshToken: 'rt-secret-1' },
      refresh: async () => ({ accessToken: 'at-secret-2', refreshToken: 'rt-secret-2' }),
    });
    const error = await instance.get('/data').catch((thrown: unknown) => thrown);
    expect((error as { response?: { status?: number } }).response?.status).toBe(401);
    expect(leaks(error)).toEqual([]);
  });

  // Pins (passes on both): the app's refresh throws an error naming the tokens; the rejection is scrubbed.
  it("refresh failed: the app's error (naming the tokens) is scrubbed, the config redacted", async () => {
    const server = await refusing();
    const instance = axios.create({ baseURL: server.url });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-secret-1', refreshToken: 'rt-secret-1' },
      refresh: async (current) => {
        throw new Error(`refresh with ${current.refreshToken} for ${current.accessToken} failed`);
      },
    });
    const error = await instance.get('/data').catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'REFRESH_FAILED' });
    expect(leaks(error)).toEqual([]);
  });

  // FINDING, PRE-EXISTING (fails on 93572f1 too, not a regression). REQUEST_NOT_REPLAYABLE keeps `config.data`, the
  // consumed stream, whose `_readableState.pipes[0]` is follow-redirects' RedirectableRequest: its `_options.headers`
  // hold the raw `Authorization: Bearer <token>`. JSON.stringify and String() are clean, and console.log's default
  // depth (2) does not reach it, but `util.inspect(error, { depth: 8 })` (a logger with a deep inspect) prints the
  // token. redactConfig redacts `config.headers` only.
  it('not replayable: REQUEST_NOT_REPLAYABLE shows no token', async () => {
    const server = await refusing();
    const instance = axios.create({ baseURL: server.url });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-secret-1', refreshToken: 'rt-secret-1' },
      refresh: async () => ({ accessToken: 'at-secret-2', refreshToken: 'rt-secret-2' }),
    });
    const error = await instance.post('/data', Readable.from(['x'])).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'REQUEST_NOT_REPLAYABLE' });
    expect(leaks(error)).toEqual([]);
  });

  // Pins (passes on both): the refresh token refused for good: SESSION_EXPIRED, then a late 401 on no tokens.
  it('session ended: SESSION_EXPIRED shows no token, nor does a later 401', async () => {
    const server = await refusing();
    const instance = axios.create({ baseURL: server.url });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-secret-1', refreshToken: 'rt-secret-1' },
      refresh: async () => {
        throw Object.assign(new Error('invalid_grant'), {
          response: { status: 400, data: { error: 'invalid_grant' } },
        });
      },
    });
    const first = await instance.get('/data').catch((thrown: unknown) => thrown);
    expect(leaks(first)).toEqual([]);
    const second = await instance.get('/data').catch((thrown: unknown) => thrown);
    expect(leaks(second)).toEqual([]);
  });
});

describe('refreshTimeoutMs above 2^31-1 ms (flagged by the author)', () => {
  // Pins the flagged change (passes here; fails on 93572f1, where setTimeout fired an overlong delay at once, so every
  // refresh failed with REFRESH_TIMEOUT). The option's check (a finite number > 0) accepts such values.
  it('lets a refresh that answers in 20 ms succeed with refreshTimeoutMs: 3e9', async () => {
    const auth = createTokenSession({
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1' },
      refresh: () => new Promise<TokenSet>((done) => setTimeout(() => done({ accessToken: 'at-2' }), 20)),
      refreshTimeoutMs: 3e9,
    });
    await expect(auth.refresh()).resolves.toMatchObject({ accessToken: 'at-2' });
  });
});
