import axios, { type AxiosRequestConfig } from 'axios';
import { describe, expectTypeOf, it } from 'vitest';
import {
  attachRefresh,
  createTokenSession,
  isTokenRefreshError,
  TokenRefreshError,
  type AttachedRefresh,
  type DebugEvent,
  type LogoutResult,
  type RefreshFunction,
  type SessionEventName,
  type TokenRefreshErrorCode,
  type TokenSet,
} from '../src/index.js';
import { createFileTokenStore } from '../src/file.js';
import type { SharedTokenStore } from '../src/store.js';

describe('public types', () => {
  it('types the file store as a SharedTokenStore: read() and write() are promises (session 7 review)', () => {
    const store = createFileTokenStore({ path: '/tmp/tokens.json' });
    expectTypeOf(store).toEqualTypeOf<SharedTokenStore>();
    expectTypeOf(store.read()).resolves.toHaveProperty('version');
    void store.close();
  });

  it('types skipAuthRefresh on axios request configs by module augmentation', () => {
    expectTypeOf<AxiosRequestConfig['skipAuthRefresh']>().toEqualTypeOf<boolean | undefined>();
    const api = axios.create();
    void api.get('/x', { skipAuthRefresh: true });
  });

  it('returns an AttachedRefresh whose getTokens is TokenSet | null', () => {
    const auth = attachRefresh(axios.create(), { refresh: async () => ({ accessToken: 'a' }) });
    expectTypeOf(auth).toEqualTypeOf<AttachedRefresh>();
    expectTypeOf(auth.getTokens()).toEqualTypeOf<TokenSet | null>();
    expectTypeOf(auth.refresh()).resolves.toEqualTypeOf<TokenSet>();
  });

  it('types event payloads by event name', () => {
    const session = createTokenSession({ refresh: async () => ({ accessToken: 'a' }) });
    session.on('tokens', (tokens) => expectTypeOf(tokens).toEqualTypeOf<TokenSet | null>());
    session.on('sessionExpired', (error) => expectTypeOf(error).toEqualTypeOf<TokenRefreshError>());
    // @ts-expect-error: not an event
    session.on('nope', () => undefined);
  });

  it('gives the refresh function the current tokens and a signal', () => {
    expectTypeOf<Parameters<RefreshFunction>[0]>().toEqualTypeOf<TokenSet>();
    expectTypeOf<Parameters<RefreshFunction>[1]['signal']>().toEqualTypeOf<AbortSignal>();
  });

  it('narrows error codes in a switch', () => {
    const error: unknown = new Error('x');
    if (isTokenRefreshError(error)) {
      expectTypeOf(error.code).toEqualTypeOf<TokenRefreshErrorCode>();
      expectTypeOf<'SESSION_EXPIRED'>().toExtend<TokenRefreshErrorCode>();
    }
  });

  it('rejects a session beside session options', () => {
    const session = createTokenSession({ refresh: async () => ({ accessToken: 'a' }) });
    // @ts-expect-error: refresh belongs to createTokenSession when a session is given
    attachRefresh(axios.create(), { session, refresh: async () => ({ accessToken: 'a' }) });
  });
});

describe('types that make wrong code fail to compile', () => {
  it('requires an access token or a refresh token in a TokenSet', () => {
    // @ts-expect-error: a TokenSet needs accessToken or refreshToken
    const empty: TokenSet = {};
    const access: TokenSet = { accessToken: 'a' };
    const refresh: TokenSet = { refreshToken: 'r', expiresAt: 1 };
    void [empty, access, refresh];
  });

  it('accepts only sessions made by createTokenSession as { session }', () => {
    const real = createTokenSession({ tokens: null, refresh: async () => ({ accessToken: 'a' }) });
    attachRefresh(axios.create(), { session: real });
    const handWritten = {
      getTokens: () => null,
      setTokens: async () => undefined,
      refresh: async () => ({ accessToken: 'a' }),
      on: () => () => undefined,
      logout: async () => ({ revoked: false }),
      getAccessToken: async () => 'a',
      close: async () => undefined,
    };
    // @ts-expect-error: a hand-written object is not a session
    attachRefresh(axios.create(), { session: handWritten });
    const auth = attachRefresh(axios.create(), { tokens: null, refresh: async () => ({ accessToken: 'a' }) });
    // @ts-expect-error: the handle is not a session; pass auth.session
    attachRefresh(axios.create(), { session: auth });
    attachRefresh(axios.create(), { session: auth.session });
  });

  it('types toJSON(), the listener:error event and the interceptor ids precisely', () => {
    const error = new TokenRefreshError('REFRESH_FAILED', 'x');
    expectTypeOf(error.toJSON().code).toEqualTypeOf<TokenRefreshErrorCode>();
    expectTypeOf(error.toJSON().name).toEqualTypeOf<'TokenRefreshError'>();
    expectTypeOf<Extract<DebugEvent, { type: 'listener:error' }>['event']>().toEqualTypeOf<SessionEventName>();
    const auth = attachRefresh(axios.create(), { tokens: null, refresh: async () => ({ accessToken: 'a' }) });
    expectTypeOf(auth.interceptors.request).toEqualTypeOf<readonly number[]>();
  });

  it('types logout() and getAccessToken()', () => {
    const auth = attachRefresh(axios.create(), { tokens: null, refresh: async () => ({ accessToken: 'a' }) });
    expectTypeOf(auth.logout()).resolves.toEqualTypeOf<LogoutResult>();
    expectTypeOf(auth.getAccessToken({ minValidityMs: 1 })).resolves.toEqualTypeOf<string>();
    // @ts-expect-error: minValidityMs is a number
    void auth.getAccessToken({ minValidityMs: '1' });
  });
});
