// review-session6's page script (bundled by esbuild): refreshTokenGrant as docs/oauth2.md sets it up in a browser,
// driven through `window.reviewSession6`.
import axios from 'axios';
import { refreshTokenGrant } from '../../../src/index.js';
import type { RefreshContext } from '../../../src/index.js';

const context = (): RefreshContext => ({ signal: new AbortController().signal, reason: 'expired' });

const settle = (work: unknown): Promise<string> =>
  Promise.resolve(work).then(
    (value) => `ok ${JSON.stringify(value)}`,
    (error: unknown) => `error ${String((error as { code?: unknown })?.code ?? '')} ${String(error)}`,
  );

const reviewSession6 = {
  /** A refresh at the page's own `/token` with the default axios (the docs' default), or the app's instance. */
  refresh(own: string, withInstance: boolean): Promise<string> {
    const refresh = refreshTokenGrant({
      tokenUrl: `${own}/token`,
      clientId: 'spa',
      ...(withInstance ? { axios: axios.create() } : {}),
      timeoutMs: 5_000,
    });
    return settle(refresh({ accessToken: 'at-1', refreshToken: 'rt-1' }, context()));
  },
};

export type ReviewSession6 = typeof reviewSession6;
(globalThis as { reviewSession6?: ReviewSession6 }).reviewSession6 = reviewSession6;
