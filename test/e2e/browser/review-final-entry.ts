// review-final (review4)'s page script (bundled by esbuild): refreshTokenGrant with the app's own axios instance,
// driven through `window.reviewFinal`.
import axios from 'axios';
import { refreshTokenGrant } from '../../../src/index.js';
import type { RefreshContext } from '../../../src/index.js';

const context = (): RefreshContext => ({ signal: new AbortController().signal, reason: 'expired' });

const settle = (work: unknown): Promise<string> =>
  Promise.resolve(work).then(
    (value) => `ok ${JSON.stringify(value)}`,
    (error: unknown) => `error ${String((error as { code?: unknown })?.code ?? '')} ${String(error)}`,
  );

const reviewFinal = {
  /**
   * A refresh through the app's shared instance, which has a request interceptor adding a query parameter to every
   * request (an API version, a locale, a cache-buster), as many apps' clients do.
   */
  refreshWithParamInterceptor(own: string): Promise<string> {
    const http = axios.create();
    http.interceptors.request.use((config) => {
      config.params = { ...(config.params ?? {}), locale: 'en' };
      return config;
    });
    const refresh = refreshTokenGrant({ tokenUrl: `${own}/token`, clientId: 'spa', axios: http, timeoutMs: 5_000 });
    return settle(refresh({ accessToken: 'at-1', refreshToken: 'rt-1' }, context()));
  },
};

export type ReviewFinal = typeof reviewFinal;
(globalThis as { reviewFinal?: ReviewFinal }).reviewFinal = reviewFinal;
