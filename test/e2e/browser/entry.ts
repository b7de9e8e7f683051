// The test page's script, bundled by esbuild for the browser: axios, the core and the browser store, as an app would
// bundle them. The test drives it through `window.tokenTest`.
import axios from 'axios';
import { attachRefresh, isTokenRefreshError } from '../../../src/index.js';
import type { AttachedRefresh, TokenSet } from '../../../src/index.js';
import { createBrowserTokenStore, indexedDbStorage, localStorageAdapter, memoryStorage } from '../../../src/browser.js';
import type { TokenStorage } from '../../../src/browser.js';

/** What the test passes to `start`. */
export interface TabConfig {
  readonly client: string;
  readonly name: string;
  readonly storage: 'memory' | 'localStorage' | 'indexedDB';
  readonly refreshTimeoutMs: number;
}

/** What `state` returns. */
export interface TabState {
  readonly accessToken: string | null;
  readonly refreshToken: string | null;
  readonly onTokensCalls: number;
  readonly tokenEvents: (string | null)[];
  readonly webLocks: boolean;
}

let attached: AttachedRefresh | undefined;
let onTokensCalls = 0;
const tokenEvents: (string | null)[] = [];

function storageFor(config: TabConfig): TokenStorage {
  if (config.storage === 'localStorage') return localStorageAdapter(`${config.name}:tokens`);
  if (config.storage === 'indexedDB') return indexedDbStorage({ key: config.name });
  return memoryStorage();
}

const api = axios.create();
const tokenEndpoint = axios.create();

const tokenTest = {
  start(config: TabConfig): void {
    const store = createBrowserTokenStore({ name: config.name, storage: storageFor(config) });
    attached = attachRefresh(api, {
      store,
      refreshTimeoutMs: config.refreshTimeoutMs,
      refresh: async (current, { signal }) => {
        const { data } = await tokenEndpoint.post<{ access_token: string; refresh_token: string; expires_in: number }>(
          '/token',
          new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
          { signal, headers: { 'x-client': config.client } },
        );
        return {
          accessToken: data.access_token,
          refreshToken: data.refresh_token,
          expiresAt: Date.now() + data.expires_in * 1000,
        };
      },
      onTokens: () => {
        onTokensCalls += 1;
      },
    });
  },
  async login(tokens: TokenSet): Promise<void> {
    await attached!.setTokens(tokens);
  },
  /** From now on, count `onTokens` calls and record `tokens` events (the login's own are not part of the burst). */
  listen(): void {
    onTokensCalls = 0;
    attached!.on('tokens', (tokens) => tokenEvents.push(tokens?.accessToken ?? null));
  },
  async burst(requests: number): Promise<{ ok: number; failures: string[] }> {
    const results = await Promise.allSettled(Array.from({ length: requests }, (_, i) => api.get(`/api/item/${i}`)));
    const failures = results.flatMap((result) =>
      result.status === 'fulfilled'
        ? []
        : [isTokenRefreshError(result.reason) ? result.reason.code : String((result.reason as Error)?.message)],
    );
    return { ok: results.length - failures.length, failures };
  },
  state(): TabState {
    const tokens = attached?.getTokens() ?? null;
    return {
      accessToken: tokens?.accessToken ?? null,
      refreshToken: tokens?.refreshToken ?? null,
      onTokensCalls,
      tokenEvents,
      webLocks: typeof navigator.locks?.request === 'function',
    };
  },
};

export type TokenTest = typeof tokenTest;
(globalThis as unknown as { tokenTest: TokenTest }).tokenTest = tokenTest;
