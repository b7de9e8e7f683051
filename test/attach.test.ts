import axios, { type AxiosInstance } from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh, createTokenSession, type TokenSet } from '../src/index.js';

let api: AxiosInstance;
let mock: MockAdapter;
const tokens: TokenSet = { accessToken: 'access-1', refreshToken: 'refresh-1' };
const refresh = async (): Promise<TokenSet> => ({ accessToken: 'access-2', refreshToken: 'refresh-2' });
const sentAuthorization = (index = -1): unknown => mock.history['get']?.at(index)?.headers?.['Authorization'];

beforeEach(() => {
  api = axios.create({ baseURL: 'https://api.test/v1' });
  mock = new MockAdapter(api);
  mock.onGet().reply(200);
});

describe('attachRefresh(instance, options): the request interceptor', () => {
  it('attaches Authorization: Bearer <accessToken> to relative URLs', async () => {
    attachRefresh(api, { tokens, refresh });
    await api.get('/me');
    expect(sentAuthorization()).toBe('Bearer access-1');
  });

  it('uses the token type of the token set', async () => {
    // Not 'DPoP': DPoP tokens need the session's `dpop` (test/review-dpop.test.ts).
    attachRefresh(api, { tokens: { ...tokens, tokenType: 'MAC' }, refresh });
    await api.get('/me');
    expect(sentAuthorization()).toBe('MAC access-1');
  });

  it('attaches the token to absolute URLs on the baseURL’s origin, and never to another origin', async () => {
    attachRefresh(api, { tokens, refresh });
    await api.get('https://api.test/other');
    expect(sentAuthorization()).toBe('Bearer access-1');
    await api.get('https://evil.test/steal');
    expect(sentAuthorization()).toBeUndefined();
    await api.get('/x', { baseURL: 'https://evil.test' });
    expect(sentAuthorization()).toBeUndefined();
  });

  it('never refreshes on a 401 from another origin', async () => {
    mock.reset();
    mock.onGet('https://other.test/x').reply(401);
    const spy = vi.fn(refresh);
    attachRefresh(api, { tokens, refresh: spy });
    const error: unknown = await api.get('https://other.test/x').catch((e: unknown) => e);
    expect(axios.isAxiosError(error) && error.response?.status).toBe(401);
    expect(spy).not.toHaveBeenCalled();
  });

  it('widens the scope with allowedOrigins as a list or a predicate', async () => {
    const auth = attachRefresh(api, { tokens, refresh, allowedOrigins: ['https://files.test/'] });
    await api.get('https://files.test/a');
    expect(sentAuthorization()).toBe('Bearer access-1');
    auth.detach();
    attachRefresh(api, { tokens, refresh, allowedOrigins: (origin) => origin.endsWith('.trusted.test') });
    await api.get('https://cdn.trusted.test/a');
    expect(sentAuthorization()).toBe('Bearer access-1');
    await api.get('https://untrusted.test/a');
    expect(sentAuthorization()).toBeUndefined();
  });

  it('leaves a request with skipAuthRefresh alone', async () => {
    attachRefresh(api, { tokens, refresh });
    await api.get('/public', { skipAuthRefresh: true });
    expect(sentAuthorization()).toBeUndefined();
  });

  it('sends requests without Authorization when there are no tokens', async () => {
    attachRefresh(api, { tokens: null, refresh });
    await api.get('/public');
    expect(sentAuthorization()).toBeUndefined();
  });

  it('ejects every interceptor on detach()', async () => {
    const auth = attachRefresh(api, { tokens, refresh });
    auth.detach();
    await api.get('/me');
    expect(sentAuthorization()).toBeUndefined();
    // A session that must refresh first takes the other request interceptor: it is gone too.
    const spy = vi.fn(refresh);
    attachRefresh(api, { tokens: { refreshToken: 'refresh-1' }, refresh: spy }).detach();
    await api.get('/me');
    expect(sentAuthorization()).toBeUndefined();
    expect(spy).not.toHaveBeenCalled();
    mock.reset();
    mock.onGet('/refused').reply(401);
    const refused: unknown = await api.get('/refused').catch((error: unknown) => error);
    expect(axios.isAxiosError(refused) && refused.response?.status).toBe(401);
    expect(spy).not.toHaveBeenCalled();
  });

  it('runs on axios’s synchronous path while the session is settled: the request reaches the adapter within the call', () => {
    const seen: unknown[] = [];
    const direct = axios.create({
      baseURL: 'https://api.test',
      adapter: async (config) => {
        seen.push(config.headers['Authorization']);
        return { data: null, status: 200, statusText: 'OK', headers: {}, config };
      },
    });
    attachRefresh(direct, { tokens, refresh });
    void direct.get('/me');
    expect(seen).toEqual(['Bearer access-1']);
  });

  describe('behind an async request interceptor of the app (registered later, so it runs first)', () => {
    /** The resource refuses the first access token; the refresh answers when `finish()` is called. */
    const setUp = () => {
      mock.reset();
      mock.onGet().reply((config) => (config.headers?.['Authorization'] === 'Bearer access-1' ? [401] : [200]));
      let finish!: () => void;
      const slow = vi.fn(async () => {
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        return refresh();
      });
      const auth = attachRefresh(api, { tokens, refresh: slow });
      return { auth, slow, finish: () => finish() };
    };

    it('makes a request sent during a refresh wait for it, and sends it with the new token', async () => {
      const { auth, slow, finish } = setUp();
      api.interceptors.request.use(async (config) => {
        await Promise.resolve();
        return config;
      });
      const manual = auth.refresh();
      const request = api.get('/me');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(mock.history['get']).toHaveLength(0);
      finish();
      await Promise.all([manual, request]);
      expect(mock.history['get']?.map((config) => config.headers?.['Authorization'])).toEqual(['Bearer access-2']);
      expect(slow).toHaveBeenCalledTimes(1);
    });

    it('succeeds with one refresh when the app interceptor awaited while a refresh started (the request may go out with the old token; its 401 then joins that refresh)', async () => {
      const { auth, slow, finish } = setUp();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      api.interceptors.request.use(async (config) => {
        await gate;
        return config;
      });
      const request = api.get('/me');
      const manual = auth.refresh();
      release();
      await new Promise((resolve) => setTimeout(resolve, 10));
      finish();
      await expect(request).resolves.toMatchObject({ status: 200 });
      await manual;
      const sent = mock.history['get']?.map((config) => config.headers?.['Authorization']);
      expect(sent?.at(-1)).toBe('Bearer access-2');
      expect(sent?.length).toBeLessThanOrEqual(2);
      expect(slow).toHaveBeenCalledTimes(1);
    });
  });

  it('keeps two instances with two attachRefresh calls independent', async () => {
    const other = axios.create({ baseURL: 'https://api.test' });
    const otherMock = new MockAdapter(other);
    otherMock.onGet().reply(200);
    attachRefresh(api, { tokens, refresh });
    attachRefresh(other, { tokens: { accessToken: 'other-access' }, refresh });
    await Promise.all([api.get('/a'), other.get('/b')]);
    expect(sentAuthorization()).toBe('Bearer access-1');
    expect(otherMock.history['get']?.[0]?.headers?.['Authorization']).toBe('Bearer other-access');
  });

  it('setTokens() replaces the tokens, awaits onTokens and fires the tokens event', async () => {
    const onTokens = vi.fn(async () => undefined);
    const auth = attachRefresh(api, { tokens, refresh, onTokens });
    const listener = vi.fn();
    const off = auth.on('tokens', listener);
    const next = { accessToken: 'login-2', refreshToken: 'r-2' };
    await auth.setTokens(next);
    off();
    await auth.setTokens(null);
    expect(onTokens.mock.calls).toEqual([[next], [null]]);
    expect(listener.mock.calls).toEqual([[next]]);
    expect(auth.getTokens()).toBeNull();
  });

  it('shares one session between instances attached with { session }', async () => {
    const session = createTokenSession({ tokens, refresh });
    const other = axios.create({ baseURL: 'https://api.test' });
    new MockAdapter(other).onGet().reply(200);
    attachRefresh(api, { session });
    const auth = attachRefresh(other, { session });
    await auth.setTokens({ accessToken: 'shared' });
    await api.get('/a');
    expect(sentAuthorization()).toBe('Bearer shared');
    expect(auth.session).toBe(session);
  });

  it('redacts the attached token in error.config of a failed request, and a retry through the instance still works', async () => {
    mock.reset();
    mock.onGet('/boom').replyOnce(500).onGet('/boom').reply(200);
    attachRefresh(api, { tokens, refresh });
    const error: unknown = await api.get('/boom').catch((e: unknown) => e);
    if (!axios.isAxiosError(error) || !error.config) throw new Error('expected an AxiosError');
    expect(error.config.headers['Authorization']).toBe('Bearer [REDACTED]');
    expect(JSON.stringify(error.toJSON())).not.toContain('access-1');
    await api.request(error.config);
    expect(sentAuthorization()).toBe('Bearer access-1');
  });

  it('keeps the token in error.config with redactAuthorization: false', async () => {
    mock.reset();
    mock.onGet('/boom').reply(500);
    attachRefresh(api, { tokens, refresh, redactAuthorization: false });
    const error: unknown = await api.get('/boom').catch((e: unknown) => e);
    expect(axios.isAxiosError(error) && error.config?.headers['Authorization']).toBe('Bearer access-1');
  });
});

describe('attachRefresh(instance, options): bad options fail at once with a TypeError that names the problem', () => {
  it.each([
    [
      'a non-axios first argument',
      () => attachRefresh({} as AxiosInstance, { tokens, refresh }),
      /`instance` to be an axios instance/,
    ],
    ['a missing refresh', () => attachRefresh(api, { tokens } as never), /`refresh` to be a function, got `undefined`/],
    [
      'a refresh that is not a function',
      () => attachRefresh(api, { tokens, refresh: 'x' } as never),
      /`refresh` to be a function, got a string/,
    ],
    [
      'tokens of the wrong shape',
      () => attachRefresh(api, { tokens: { accessToken: 42 } as never, refresh }),
      /`accessToken` must be a string, got a value of type number/,
    ],
    [
      'tokens with neither token',
      () => attachRefresh(api, { tokens: {} as never, refresh }),
      /neither `accessToken` nor `refreshToken`/,
    ],
    [
      'expiresAt in seconds',
      () => attachRefresh(api, { tokens: { ...tokens, expiresAt: 1_900_000_000 }, refresh }),
      /looks like Unix seconds/,
    ],
    [
      'a negative refreshTimeoutMs',
      () => attachRefresh(api, { tokens, refresh, refreshTimeoutMs: -1 }),
      /`refreshTimeoutMs` to be a finite number > 0, got `-1` \(number\)/,
    ],
    [
      'an infinite refreshTimeoutMs',
      () => attachRefresh(api, { tokens, refresh, refreshTimeoutMs: Infinity }),
      /`refreshTimeoutMs` to be a finite number > 0, got `Infinity`/,
    ],
    [
      'a NaN leewayMs',
      () => attachRefresh(api, { tokens, refresh, leewayMs: Number.NaN }),
      /`leewayMs` to be a finite number >= 0, got `NaN`/,
    ],
    [
      'a fractional maxReplays',
      () => attachRefresh(api, { tokens, refresh, maxReplays: 1.5 }),
      /`maxReplays` to be an integer >= 0/,
    ],
    [
      'statusCodes that are not status codes',
      () => attachRefresh(api, { tokens, refresh, statusCodes: [1] }),
      /`statusCodes` to be an array of HTTP status codes/,
    ],
    [
      'an origin that is not absolute',
      () => attachRefresh(api, { tokens, refresh, allowedOrigins: ['api.test'] }),
      /`allowedOrigins` entries to be absolute origins/,
    ],
    [
      'an unknown option (a typo)',
      () => attachRefresh(api, { tokens, refresh, onToken: () => undefined } as never),
      /Unknown option `onToken`/,
    ],
    [
      'session options beside a session',
      () => attachRefresh(api, { session: createTokenSession({ tokens: null, refresh }), refresh } as never),
      /`refresh` to be given to createTokenSession/,
    ],
  ])('rejects %s', (_name, attach, message) => {
    expect(attach).toThrow(TypeError);
    expect(attach).toThrow(message);
  });

  it('never prints a token value in the error', () => {
    expect(() =>
      attachRefresh(api, { tokens: { accessToken: 'secret-token', expiresAt: 5 } as never, refresh }),
    ).toThrow(/^(?!.*secret-token)/);
  });
});
