import axios, { type AxiosInstance } from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh, createTokenSession, MemoryTokenStore, type TokenSet } from '../src/index.js';
import { rejection } from './support/rejection.js';

/**
 * The rows of the README's bad-input table that test/attach.test.ts and test/failures.test.ts do not cover already.
 * Each bad input gets a clear error naming the problem, never a token value, and nothing hangs.
 */

const SECRET_ACCESS = 'access-do-not-print-me';
const SECRET_REFRESH = 'refresh-do-not-print-me';
const tokens: TokenSet = { accessToken: SECRET_ACCESS, refreshToken: SECRET_REFRESH };
const refresh = async (): Promise<TokenSet> => ({ accessToken: 'next', refreshToken: 'next-refresh' });

let api: AxiosInstance;
let mock: MockAdapter;

beforeEach(() => {
  api = axios.create({ baseURL: 'https://api.test' });
  mock = new MockAdapter(api);
  // The resource refuses the initial token, so that every request needs a refresh.
  mock
    .onGet('/data')
    .reply((config) => (config.headers?.['Authorization'] === `Bearer ${SECRET_ACCESS}` ? [401] : [200]));
});

function expectNoTokenIn(error: Error): void {
  for (const text of [error.message, String(error), JSON.stringify(error)]) {
    expect(text).not.toContain(SECRET_ACCESS);
    expect(text).not.toContain(SECRET_REFRESH);
  }
}

describe('attachRefresh(instance, options): more bad options fail at once with a TypeError naming the problem', () => {
  it.each([
    ['a negative leewayMs', { leewayMs: -1 }, 'Expected `leewayMs` to be a finite number >= 0, got `-1` (number)'],
    [
      'a refreshTimeoutMs of 0',
      { refreshTimeoutMs: 0 },
      'Expected `refreshTimeoutMs` to be a finite number > 0, got `0` (number)',
    ],
    [
      'a refreshTimeoutMs given as a string',
      { refreshTimeoutMs: '5000' },
      'Expected `refreshTimeoutMs` to be a finite number > 0, got a string',
    ],
    ['a negative maxReplays', { maxReplays: -1 }, 'Expected `maxReplays` to be an integer >= 0, got `-1` (number)'],
    ['an onTokens that is not a function', { onTokens: 'save' }, 'Expected `onTokens` to be a function, got a string'],
    ['a debug that is not a function', { debug: true }, 'Expected `debug` to be a function, got `true`'],
    [
      'a store that is not a TokenStore',
      { store: {} },
      'Expected `store` to be a TokenStore (read, write, withLock), got a value of type object',
    ],
    [
      'a refreshTokenRequired that is not a boolean',
      { refreshTokenRequired: 'yes' },
      'Expected `refreshTokenRequired` to be a boolean, got a string',
    ],
    [
      'a redactAuthorization that is not a boolean',
      { redactAuthorization: 1 },
      'Expected `redactAuthorization` to be a boolean, got `1` (number)',
    ],
    [
      'a shouldRefresh that is not a function',
      { shouldRefresh: [] },
      'Expected `shouldRefresh` to be a function, got an array',
    ],
    [
      'allowedOrigins that is neither a list nor a function',
      { allowedOrigins: 'https://api.test' },
      'Expected `allowedOrigins` to be an array of origins or a function, got a string',
    ],
    [
      'tokens with expiresAt that is not a number',
      { tokens: { ...tokens, expiresAt: '2030-01-01' } },
      '`expiresAt` must be a finite number of epoch milliseconds, got a string',
    ],
    [
      'tokens with a tokenType that is not a string',
      { tokens: { ...tokens, tokenType: 1 } },
      '`tokenType` must be a string, got `1` (number)',
    ],
    ['tokens that are an array', { tokens: [] }, 'Expected `tokens` to be a TokenSet or null: got an array'],
  ])('rejects %s', (_name, options, message) => {
    const attach = () => attachRefresh(api, { tokens, refresh, ...(options as object) } as never);
    expect(attach).toThrow(TypeError);
    expect(attach).toThrow(message);
  });

  it('rejects options that are not an object', () => {
    expect(() => attachRefresh(api, null as never)).toThrow('Expected `options` to be an object, got `null`');
    expect(() => createTokenSession(undefined as never)).toThrow('Expected `options` to be an object, got `undefined`');
  });

  it('rejects a bad event name or listener in on()', () => {
    const auth = attachRefresh(api, { tokens, refresh });
    expect(() => auth.on('token' as never, () => undefined)).toThrow(
      'Expected `event` to be one of tokens, refreshError, sessionExpired, got a string',
    );
    expect(() => auth.on('tokens', 'listener' as never)).toThrow('Expected `listener` to be a function, got a string');
  });
});

describe('setTokens(tokens): bad tokens reject with a TypeError and change nothing', () => {
  it.each([
    [
      'expiresAt in seconds',
      { ...tokens, expiresAt: 1_900_000_000 },
      '`expiresAt` (1900000000) looks like Unix seconds; it must be epoch milliseconds (multiply by 1000)',
    ],
    [
      'a refreshToken that is not a string',
      { accessToken: 'a', refreshToken: 42 },
      '`refreshToken` must be a string, got a value of type number',
    ],
    ['neither token', { scope: 'openid' }, 'it has neither `accessToken` nor `refreshToken`'],
    ['a string', SECRET_ACCESS, 'Expected `setTokens(tokens)` to be a TokenSet or null: got a string'],
  ])('rejects %s', async (_name, value, message) => {
    const auth = attachRefresh(api, { tokens, refresh });
    const error: unknown = await auth.setTokens(value as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain(message);
    expectNoTokenIn(error as Error);
    expect(auth.getTokens()).toEqual(tokens);
  });
});

describe('the tokens loader', () => {
  it('fails requests with TOKENS_LOAD_FAILED after refreshTimeoutMs when it never resolves, and loads again on the next request', async () => {
    let calls = 0;
    attachRefresh(api, {
      tokens: () => {
        calls += 1;
        return calls === 1 ? new Promise<TokenSet>(() => undefined) : { accessToken: 'fresh', refreshToken: 'r' };
      },
      refresh,
      refreshTimeoutMs: 50,
    });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('TOKENS_LOAD_FAILED');
    expect(error.message).toBe('Loading the initial tokens failed: the tokens loader did not settle within 50 ms');
    await expect(api.get('/data')).resolves.toMatchObject({ status: 200 });
    expect(calls).toBe(2);
  });

  it('fails requests with TOKENS_LOAD_FAILED naming the problem when it resolves tokens of the wrong shape', async () => {
    attachRefresh(api, { tokens: async () => ({ accessToken: SECRET_ACCESS, expiresAt: 1_900_000_000 }), refresh });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('TOKENS_LOAD_FAILED');
    expect(error.message).toContain('looks like Unix seconds');
    expectNoTokenIn(error);
  });

  it('does not repeat the message of what the loader threw (it may quote a token), only its class', async () => {
    attachRefresh(api, {
      tokens: () => {
        throw new RangeError(`cannot parse ${SECRET_ACCESS}`);
      },
      refresh,
    });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('TOKENS_LOAD_FAILED');
    expect(error.message).toBe('Loading the initial tokens failed: the loader threw a RangeError (see `cause`)');
    expectNoTokenIn(error);
  });
});

describe('a refresh that resolves something unusable: INVALID_TOKEN_RESPONSE naming the problem, tokens kept', () => {
  it.each([
    ['null', null, 'it resolved with `null`'],
    ['undefined', undefined, 'it resolved with `undefined`'],
    ['a string (the raw token?)', 'eyJhbGciOi.payload.sig', 'it resolved with a string'],
    ['an object without accessToken', { token: 'x' }, '`accessToken` is `undefined`, expected a non-empty string'],
    ['an empty accessToken', { accessToken: '' }, '`accessToken` is an empty string, expected a non-empty string'],
    [
      'a numeric accessToken',
      { accessToken: 42 },
      '`accessToken` is a value of type number, expected a non-empty string',
    ],
    [
      'the OAuth wire format (access_token) instead of a TokenSet',
      { access_token: 'a', expires_in: 3600 },
      '`accessToken` is `undefined`, but `access_token` is there: map the token endpoint’s answer to a TokenSet (accessToken, refreshToken, expiresAt in epoch ms), or use refreshTokenGrant',
    ],
    [
      'expiresAt in seconds instead of milliseconds',
      { accessToken: 'a', expiresAt: 1_900_000_000 },
      '`expiresAt` (1900000000) looks like Unix seconds; it must be epoch milliseconds (multiply by 1000)',
    ],
    [
      'expiresAt that is NaN (expires_in was not a number)',
      { accessToken: 'a', expiresAt: Number.NaN },
      '`expiresAt` must be a finite number of epoch milliseconds, got `NaN` (number)',
    ],
    [
      'a refreshToken that is not a string',
      { accessToken: 'a', refreshToken: 7 },
      '`refreshToken` must be a string, got a value of type number',
    ],
  ])('%s', async (_name, value, problem) => {
    const auth = attachRefresh(api, { tokens, refresh: async () => value as never });
    const failures: string[] = [];
    auth.on('refreshError', (e) => failures.push(e.code));

    const error = await rejection(api.get('/data'));

    expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
    expect(error.message).toBe(`Token refresh returned no usable tokens: ${problem}`);
    expect(auth.getTokens()).toEqual(tokens);
    expect(failures).toEqual(['INVALID_TOKEN_RESPONSE']);
    expectNoTokenIn(error);
  });

  it('classifies a refresh that throws synchronously as REFRESH_FAILED, naming the error class only', async () => {
    attachRefresh(api, {
      tokens,
      refresh: () => {
        throw new TypeError(`bad ${SECRET_REFRESH}`);
      },
    });
    const error = await rejection(api.get('/data'));
    expect(error.code).toBe('REFRESH_FAILED');
    expect(error.message).toBe('Token refresh failed: the refresh function threw a TypeError');
    expectNoTokenIn(error);
  });
});

describe('a request body that can only be read once', () => {
  it('rejects a web ReadableStream body with REQUEST_NOT_REPLAYABLE instead of replaying it empty', async () => {
    mock
      .onPost('/upload')
      .reply((config) => (config.headers?.['Authorization'] === `Bearer ${SECRET_ACCESS}` ? [401] : [200]));
    const send = vi.fn(refresh);
    attachRefresh(api, { tokens, refresh: send });
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'));
        controller.close();
      },
    });
    const error = await rejection(api.post('/upload', body));
    expect(error.code).toBe('REQUEST_NOT_REPLAYABLE');
    expect(error.message).toBe(
      'Request not replayed after the token refresh: its body is a stream that was already sent (POST /upload)',
    );
    expect(mock.history['post']).toHaveLength(1);
    // The refresh itself went through: the next request carries the new token.
    expect(send).toHaveBeenCalledTimes(1);
  });
});

describe('a store that breaks its contract', () => {
  it('uses the refreshed tokens when the store cannot write them (the old refresh token is spent), and reports STORE_FAILED', async () => {
    const store = new MemoryTokenStore(tokens);
    const broken = Object.assign(Object.create(store) as MemoryTokenStore, {
      read: () => store.read(),
      withLock: <T>(task: (context: { signal: AbortSignal }) => Promise<T>) => store.withLock(task),
      write: () => {
        throw new Error('quota exceeded');
      },
    });
    const auth = attachRefresh(api, { store: broken, refresh });
    const reported = vi.fn();
    auth.on('refreshError', reported);
    const answer = await api.get('/data');
    expect(answer.status).toBe(200);
    expect(auth.getTokens()).not.toEqual(tokens);
    expect(reported.mock.calls[0]?.[0]).toMatchObject({ code: 'STORE_FAILED' });
  });
});
