// The logout test page's script, bundled by esbuild for the browser: axios and the built package (dist/, reached by
// its name: `axios-token-refresh` and `axios-token-refresh/browser`), as an app would bundle them, with
// refreshTokenGrant and the token API's revocation endpoint. The test drives it through `window.logoutTab`.
import axios from 'axios';
import type * as Core from '../../../src/index.js';
import type * as BrowserEntry from '../../../src/browser.js';

/** What the test passes to `start`. */
export interface LogoutTabConfig {
  readonly client: string;
  readonly name: string;
  readonly storage: 'memory' | 'localStorage' | 'indexedDB';
  readonly refreshTimeoutMs: number;
}

/** What `state` returns. */
export interface LogoutTabState {
  readonly accessToken: string | null;
  /** The access token of every `tokens` event since start, `null` for a `tokens` event with null. */
  readonly tokenEvents: (string | null)[];
  readonly sessionExpiredCalls: number;
}

let attached: Core.AttachedRefresh | undefined;
let isTokenRefreshError: typeof Core.isTokenRefreshError | undefined;
const tokenEvents: (string | null)[] = [];
let sessionExpiredCalls = 0;
const api = axios.create();

const logoutTab = {
  async start(config: LogoutTabConfig): Promise<void> {
    const core = (await import('axios-token-refresh' as string)) as typeof Core;
    const stores = (await import('axios-token-refresh/browser' as string)) as typeof BrowserEntry;
    isTokenRefreshError = core.isTokenRefreshError;
    const storage =
      config.storage === 'localStorage'
        ? stores.localStorageAdapter(`${config.name}:tokens`)
        : config.storage === 'indexedDB'
          ? stores.indexedDbStorage({ key: config.name })
          : stores.memoryStorage();
    attached = core.attachRefresh(api, {
      store: stores.createBrowserTokenStore({ name: config.name, storage }),
      refreshTimeoutMs: config.refreshTimeoutMs,
      refresh: core.refreshTokenGrant({
        tokenUrl: `${location.origin}/token`,
        revocationUrl: `${location.origin}/revoke`,
        clientId: 'spa',
        authMethod: 'none',
        headers: () => ({ 'x-client': config.client }),
      }),
    });
    attached.on('tokens', (tokens) => tokenEvents.push(tokens?.accessToken ?? null));
    attached.on('sessionExpired', () => {
      sessionExpiredCalls += 1;
    });
  },
  async login(tokens: Core.TokenSet): Promise<void> {
    await attached!.setTokens(tokens);
  },
  async logout(): Promise<{ revoked: boolean; error: string | null }> {
    const result = await attached!.logout();
    return { revoked: result.revoked, error: result.error?.code ?? null };
  },
  async burst(requests: number): Promise<{ ok: number; failures: string[] }> {
    const results = await Promise.allSettled(Array.from({ length: requests }, (_, i) => api.get(`/api/item/${i}`)));
    const failures = results.flatMap((result) =>
      result.status === 'fulfilled'
        ? []
        : [isTokenRefreshError!(result.reason) ? result.reason.code : String((result.reason as Error)?.message)],
    );
    return { ok: results.length - failures.length, failures };
  },
  state(): LogoutTabState {
    return { accessToken: attached?.getTokens()?.accessToken ?? null, tokenEvents, sessionExpiredCalls };
  },
};

export type LogoutTab = typeof logoutTab;
(globalThis as unknown as { logoutTab: LogoutTab }).logoutTab = logoutTab;
