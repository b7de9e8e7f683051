// Page script for the final-review break-it tests: the package's browser API on `window.lib`, and `window.app`, a small
// app (one axios instance with attachRefresh over a browser store) that tests drive. Counts the iframes the page sees
// added to <html> (the store's self-checks and moves).
import axios from 'axios';
import { attachRefresh } from '../../../../src/index.js';
import type { AttachedRefresh } from '../../../../src/index.js';
import {
  createBrowserTokenStore,
  indexedDbStorage,
  localStorageAdapter,
  memoryStorage,
} from '../../../../src/browser.js';
import type { SharedTokenStore } from '../../../../src/browser.js';

export interface AppConfig {
  readonly name: string;
  readonly client: string;
  readonly storage: 'memory' | 'local' | 'idb';
  /** Passed as the store's `locks` option when set: 'wrapped' is navigator.locks behind a thin wrapper object. */
  readonly locks?: 'wrapped';
}

const errors: string[] = [];
const frames = { added: 0 };
new MutationObserver((records) => {
  for (const r of records)
    for (const n of Array.from(r.addedNodes)) if (n instanceof HTMLIFrameElement) frames.added += 1;
}).observe(document.documentElement, { childList: true });

const apps = new Map<
  string,
  { store: SharedTokenStore; attached: AttachedRefresh; api: ReturnType<typeof axios.create> }
>();

function start(config: AppConfig): void {
  const real = navigator.locks;
  const wrapped = {
    request: (...args: unknown[]) => (real.request as (...a: unknown[]) => Promise<unknown>).apply(real, args),
    query: () => real.query(),
  } as unknown as LockManager;
  const store = createBrowserTokenStore({
    name: config.name,
    storage:
      config.storage === 'memory'
        ? memoryStorage()
        : config.storage === 'local'
          ? localStorageAdapter(`k-${config.name}`)
          : indexedDbStorage({ key: config.name }),
    ...(config.locks === 'wrapped' ? { locks: wrapped } : {}),
    onError: (e) => errors.push(`${config.name} onError ${e.code}: ${e.message}`),
  });
  const api = axios.create();
  const attached = attachRefresh(api, {
    store,
    refreshTimeoutMs: 8000,
    refresh: async (current, { signal }) => {
      const { data } = await axios.post<{ access_token: string; refresh_token: string; expires_in: number }>(
        '/token',
        new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
        { signal, headers: { 'x-client': config.client } },
      );
      return { accessToken: data.access_token, refreshToken: data.refresh_token, expiresAt: Date.now() + 300_000 };
    },
  });
  attached.on('refreshError', (e) => errors.push(`${config.name} refreshError ${e.code}: ${e.message}`));
  apps.set(config.name, { store, attached, api });
}

const app = {
  start,
  async get(path: string, name?: string): Promise<string> {
    const a = name === undefined ? [...apps.values()][0]! : apps.get(name)!;
    try {
      return String((await a.api.get(path)).status);
    } catch (error) {
      if (axios.isAxiosError(error) && error.response) return String(error.response.status);
      return String((error as Error).message);
    }
  },
  /** `n` concurrent requests; their outcomes and the slowest one's time. */
  async burst(n: number, name?: string): Promise<{ outcomes: string[]; ms: number }> {
    const t0 = performance.now();
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => app.get(`/api/${i}`, name)));
    return { outcomes, ms: Math.round(performance.now() - t0) };
  },
  async login(accessToken: string, refreshToken: string, name?: string): Promise<number> {
    const a = name === undefined ? [...apps.values()][0]! : apps.get(name)!;
    const t0 = performance.now();
    await a.attached.setTokens({ accessToken, refreshToken });
    return Math.round(performance.now() - t0);
  },
  async logout(name?: string): Promise<number> {
    const a = name === undefined ? [...apps.values()][0]! : apps.get(name)!;
    const t0 = performance.now();
    await a.attached.logout();
    return Math.round(performance.now() - t0);
  },
  tokens(name?: string) {
    const a = name === undefined ? [...apps.values()][0]! : apps.get(name)!;
    return a.attached.getTokens()?.refreshToken ?? null;
  },
  close(name: string): void {
    apps.get(name)!.store.close();
    apps.delete(name);
  },
  errors: () => errors,
  frames: () => ({ added: frames.added, present: document.querySelectorAll('iframe').length }),
};

const lib = { axios, attachRefresh, createBrowserTokenStore, indexedDbStorage, localStorageAdapter, memoryStorage };
export type Lib = typeof lib;
export type App = typeof app;
(globalThis as unknown as { lib: Lib; app: App }).lib = lib;
(globalThis as unknown as { lib: Lib; app: App }).app = app;
