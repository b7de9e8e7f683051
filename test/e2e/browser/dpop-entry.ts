// The DPoP test page's script, bundled by esbuild for the browser: axios, the core, the browser store and the DPoP
// entry, as an app would bundle them. The test drives it through `window.dpopTest`.
import axios from 'axios';
import { attachRefresh, isTokenRefreshError, refreshTokenGrant } from '../../../src/index.js';
import type { AttachedRefresh, TokenSet } from '../../../src/index.js';
import { createBrowserTokenStore, indexedDbStorage } from '../../../src/browser.js';
import { createDpop, type Dpop } from '../../../src/dpop.js';

/** What the test passes to `start`. */
export interface DpopTabConfig {
  readonly name: string;
  readonly tokenUrl: string;
  readonly apiUrl: string;
  readonly clientId: string;
  /**
   * An app interceptor registered before attachRefresh (in the legacy order it runs after the plugin's): it picks the
   * adapter and moves `/legacy/…` to `/…`, after the plugin made its proof.
   */
  readonly app?: { readonly legacyOrder: boolean; readonly adapter: 'fetch' | 'xhr' };
}

let attached: AttachedRefresh | undefined;
let dpop: Dpop | undefined;

const dpopTest = {
  /** Loads (or, first of all tabs, creates) the persisted key and attaches the plugin; resolves with the thumbprint. */
  async start(config: DpopTabConfig): Promise<string> {
    dpop = await createDpop({ persist: { name: config.name } });
    const { app } = config;
    const api = axios.create({
      baseURL: config.apiUrl,
      ...(app && { transitional: { legacyInterceptorReqResOrdering: app.legacyOrder } }),
    });
    if (app) {
      api.interceptors.request.use((request) => {
        request.adapter = app.adapter;
        if (request.url?.startsWith('/legacy/')) request.url = request.url.slice('/legacy'.length);
        return request;
      });
    }
    attached = attachRefresh(api, {
      store: createBrowserTokenStore({ name: config.name, storage: indexedDbStorage({ key: config.name }) }),
      dpop,
      refresh: refreshTokenGrant({ tokenUrl: config.tokenUrl, clientId: config.clientId, authMethod: 'none', dpop }),
      leewayMs: 0,
    });
    (dpopTest as { api?: typeof api }).api = api;
    return dpop.thumbprint;
  },
  /** Whether page script can read the private key: `extractable`, and what `exportKey` does. */
  async keyExport(): Promise<{ extractable: boolean; exported: boolean }> {
    const key = dpop!.keyPair.privateKey;
    const exported = await crypto.subtle.exportKey('jwk', key).then(
      () => true,
      () => false,
    );
    return { extractable: key.extractable, exported };
  },
  async login(tokens: TokenSet): Promise<void> {
    await attached!.setTokens(tokens);
  },
  expiresAt(): number | null {
    return attached?.getTokens()?.expiresAt ?? null;
  },
  async burst(requests: number, prefix = ''): Promise<{ ok: number; failures: string[] }> {
    const api = (dpopTest as { api?: ReturnType<typeof axios.create> }).api!;
    const results = await Promise.allSettled(
      Array.from({ length: requests }, (_, i) => api.get(`${prefix}/items/${i}?q=${i}`)),
    );
    const failures = results.flatMap((result) =>
      result.status === 'fulfilled'
        ? []
        : [
            isTokenRefreshError(result.reason)
              ? `${result.reason.code}: ${result.reason.message}`
              : String((result.reason as Error)?.message),
          ],
    );
    return { ok: results.length - failures.length, failures };
  },
};

export type DpopTest = typeof dpopTest;
(globalThis as { dpopTest?: DpopTest }).dpopTest = dpopTest;
