import axios, { type AxiosRequestConfig } from 'axios';
import { describe, expectTypeOf, it } from 'vitest';
import {
  attachRefresh,
  createTokenSession,
  isTokenRefreshError,
  TokenRefreshError,
  type AttachedRefresh,
  type RefreshFunction,
  type TokenRefreshErrorCode,
  type TokenSet,
} from '../src/index.js';

describe('public types', () => {
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
