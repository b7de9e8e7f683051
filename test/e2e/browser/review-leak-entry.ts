// The leak review's page script (bundled by esbuild): the docs' browser set-ups of the grants and of DPoP, driven
// through `window.reviewLeak`. Each function reports what the app saw; the servers report what they received.
import axios from 'axios';
import { attachRefresh, refreshTokenGrant } from '../../../src/index.js';
import type { RefreshContext } from '../../../src/index.js';
import { createDpop } from '../../../src/dpop.js';

export interface LeakUrls {
  /** The page's own origin: the authorization server and the API. */
  readonly own: string;
  /** Another origin, which must never receive a token or a secret. */
  readonly other: string;
}

const context = (): RefreshContext => ({ signal: new AbortController().signal, reason: 'expired' });

const settle = (work: unknown): Promise<string> =>
  Promise.resolve(work).then(
    (value) => `ok ${JSON.stringify(value)}`,
    (error: unknown) => `error ${String((error as { code?: unknown })?.code ?? '')} ${String(error)}`,
  );

const reviewLeak = {
  /** A public SPA client's refresh (docs/oauth2.md) at `tokenPath` of the page's origin, with axios's `adapter`. */
  refresh(urls: LeakUrls, tokenPath: string, adapter: 'xhr' | 'fetch'): Promise<string> {
    const refresh = refreshTokenGrant({
      tokenUrl: `${urls.own}${tokenPath}`,
      clientId: 'spa',
      axios: axios.create({ adapter }),
      timeoutMs: 5_000,
    });
    return settle(refresh({ accessToken: 'at-browser-1', refreshToken: 'rt-browser-secret-1' }, context()));
  },
  /** The same client, its token endpoint discovered from `issuer` (docs/login.md). */
  discovered(urls: LeakUrls, adapter: 'xhr' | 'fetch'): Promise<string> {
    const refresh = refreshTokenGrant({
      issuer: urls.own,
      clientId: 'spa',
      axios: axios.create({ adapter }),
      timeoutMs: 5_000,
    });
    return settle(refresh({ accessToken: 'at-browser-2', refreshToken: 'rt-browser-secret-2' }, context()));
  },
  /** logout()'s revocation (docs/login.md: "Redirects are not followed"). */
  revoke(urls: LeakUrls, adapter: 'xhr' | 'fetch'): Promise<string> {
    const refresh = refreshTokenGrant({
      tokenUrl: `${urls.own}/token`,
      revocationUrl: `${urls.own}/revoke-redirect`,
      clientId: 'spa',
      axios: axios.create({ adapter }),
      timeoutMs: 5_000,
    });
    return settle(
      refresh.revoke?.(
        { accessToken: 'at-browser-3', refreshToken: 'rt-browser-secret-3' },
        { signal: new AbortController().signal },
      ) ?? Promise.resolve(),
    );
  },
  /** An API request with DPoP-bound tokens (docs/dpop.md), which the API redirects to `redirectPath`. */
  async dpopRequest(urls: LeakUrls, redirectPath: string, adapter: 'xhr' | 'fetch'): Promise<string> {
    const dpop = await createDpop();
    const api = axios.create({ baseURL: urls.own, adapter });
    const auth = attachRefresh(api, {
      tokens: { accessToken: 'at-dpop-browser', tokenType: 'DPoP', expiresAt: Date.now() + 3_600_000 },
      refresh: () => Promise.reject(new Error('no refresh expected')),
      dpop,
    });
    try {
      return await settle(api.get(redirectPath).then((response) => response.status));
    } finally {
      await auth.close();
    }
  },
};
(globalThis as unknown as { reviewLeak: typeof reviewLeak }).reviewLeak = reviewLeak;
export type ReviewLeak = typeof reviewLeak;
