// Page script for the r2 break-it review: axios + the package source + the browser store, driven through `window.r2`.
import axios from 'axios';
import { attachRefresh, isTokenRefreshError } from '../../../../src/index.js';
import type { AttachedRefresh, TokenSet } from '../../../../src/index.js';
import {
  createBrowserTokenStore,
  indexedDbStorage,
  localStorageAdapter,
  memoryStorage,
} from '../../../../src/browser.js';
import type { TokenStorage } from '../../../../src/browser.js';

export interface R2Config {
  readonly client: string;
  readonly name: string;
  readonly storage: 'memory' | 'localStorage' | 'sessionStorage' | 'indexedDB';
  readonly idb?: { database?: string; objectStore?: string; key?: string };
  readonly refreshTimeoutMs: number;
  readonly noBroadcastChannel?: boolean;
}

let attached: AttachedRefresh | undefined;
const errors: string[] = [];
const api = axios.create();
const tokenEndpoint = axios.create();

/** The sessionStorage adapter exactly as the TokenStorage JSDoc example writes it. */
const sessionStorageAdapter = (key: string): TokenStorage => ({
  get: () => sessionStorage.getItem(key),
  set: (value) => (value === null ? sessionStorage.removeItem(key) : sessionStorage.setItem(key, value)),
  perTab: true,
});

function storageFor(config: R2Config): TokenStorage {
  if (config.storage === 'localStorage') return localStorageAdapter(`${config.name}:tokens`);
  if (config.storage === 'sessionStorage') return sessionStorageAdapter(`${config.name}:tokens`);
  if (config.storage === 'indexedDB') return indexedDbStorage(config.idb ?? { key: config.name });
  return memoryStorage();
}

const r2 = {
  start(config: R2Config): void {
    if (config.noBroadcastChannel) delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
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
    });
    attached.on('refreshError', (error) => errors.push(`${error.code}: ${error.message}`));
  },
  async login(tokens: TokenSet): Promise<void> {
    await attached!.setTokens(tokens);
  },
  async get(path: string): Promise<string> {
    try {
      return String((await api.get(path)).status);
    } catch (error) {
      if (axios.isAxiosError(error) && error.response) return String(error.response.status);
      return isTokenRefreshError(error)
        ? `${error.code}: ${error.message}`
        : String((error as Error)?.message ?? error);
    }
  },
  async burst(n: number): Promise<string[]> {
    return Promise.all(Array.from({ length: n }, (_, i) => r2.get(`/api/item/${i}`)));
  },
  tokens(): { accessToken: string | null; refreshToken: string | null } {
    const t = attached?.getTokens() ?? null;
    return { accessToken: t?.accessToken ?? null, refreshToken: t?.refreshToken ?? null };
  },
  errors: () => errors,
};

export type R2 = typeof r2;
(globalThis as unknown as { r2: R2 }).r2 = r2;
