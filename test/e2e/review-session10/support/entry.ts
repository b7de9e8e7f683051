// Page script for the idb-review break-it tests: the package source (bundled by esbuild), driven through `window.f`.
import axios from 'axios';
import { attachRefresh, isTokenRefreshError } from '../../../../src/index.js';
import type { AttachedRefresh, TokenSet } from '../../../../src/index.js';
import { createBrowserTokenStore, indexedDbStorage, memoryStorage } from '../../../../src/browser.js';
import type { IndexedDbStorageOptions, TokenStorage } from '../../../../src/browser.js';

export interface SessionConfig {
  readonly client: string;
  readonly name: string;
  readonly idb?: IndexedDbStorageOptions;
  readonly refreshTimeoutMs: number;
  /** `null`: the per-tab lock (BrowserTokenStoreOptions.locks). */
  readonly locks?: null;
  /** 'memory': memoryStorage() instead of indexedDbStorage. */
  readonly storage?: 'memory' | 'idb';
  /** The key of this session in the page (several sessions with one store name); the store name by default. */
  readonly id?: string;
}

/** What a call gave: its value, or its error described (name, code, message, cause), and how long it took. */
export interface Outcome {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
  readonly ms: number;
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; depth += 1) {
    const { name, message, code } = e as { name?: string; message?: string; code?: string };
    parts.push(`${typeof code === 'string' ? code : name}: ${message}`);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(' <- ');
}

async function timed(call: () => Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    const value = await call();
    return { ok: true, value, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, error: describe(error), ms: Math.round(performance.now() - started) };
  }
}

const storages = new Map<string, TokenStorage>();
/** The sessions of this tab, by their store's name; the first one is the default. */
const sessions = new Map<string, { attached: AttachedRefresh; api: ReturnType<typeof axios.create> }>();
const session = (name?: string) => (name === undefined ? [...sessions.values()][0]! : sessions.get(name)!);
const errors: string[] = [];
const stores = new Map<string, { close(): void }>();
const tokenEndpoint = axios.create();

/** Every IndexedDB connection the page opened, and whether it was closed (by `close()` or the browser). */
const connections: { name: string; version: number; closed: boolean }[] = [];
const realOpen = IDBFactory.prototype.open;
IDBFactory.prototype.open = function open(this: IDBFactory, ...args: Parameters<IDBFactory['open']>) {
  const request = realOpen.apply(this, args);
  request.addEventListener('success', () => {
    const db = request.result;
    const entry = { name: db.name, version: db.version, closed: false };
    connections.push(entry);
    const close = db.close.bind(db);
    db.close = () => {
      entry.closed = true;
      close();
    };
    db.addEventListener('close', () => (entry.closed = true));
  });
  return request;
};

const f = {
  storage(id: string, options: IndexedDbStorageOptions): void {
    storages.set(id, indexedDbStorage(options));
  },
  get: (id: string) => timed(() => Promise.resolve(storages.get(id)!.get())),
  set: (id: string, value: string | null) => timed(() => Promise.resolve(storages.get(id)!.set(value))),
  start(config: SessionConfig): void {
    const store = createBrowserTokenStore({
      name: config.name,
      storage: config.storage === 'memory' ? memoryStorage() : indexedDbStorage(config.idb ?? { key: config.name }),
      ...(config.locks === null ? { locks: null } : {}),
      onError: (error) => errors.push(`onError ${error.code}: ${error.message}`),
    });
    stores.set(config.id ?? config.name, store);
    const api = axios.create();
    const attached = attachRefresh(api, {
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
    attached.on('refreshError', (error) => errors.push(`refreshError ${error.code}: ${error.message}`));
    sessions.set(config.id ?? config.name, { attached, api });
  },
  login: (tokens: TokenSet, name?: string) => timed(() => session(name).attached.setTokens(tokens)),
  logout: (name?: string) => timed(() => session(name).attached.logout()),
  async request(path: string, name?: string): Promise<string> {
    try {
      return String((await session(name).api.get(path)).status);
    } catch (error) {
      if (axios.isAxiosError(error) && error.response) return String(error.response.status);
      return isTokenRefreshError(error) ? `${error.code}: ${error.message}` : describe(error);
    }
  },
  tokens(name?: string): { accessToken: string | null; refreshToken: string | null } {
    const t = session(name).attached.getTokens();
    return { accessToken: t?.accessToken ?? null, refreshToken: t?.refreshToken ?? null };
  },
  errors: () => errors,
  /** Closes the store of a session (its store name, or its id). */
  close: (name: string) => stores.get(name)!.close(),
  connections: () => connections,
  timed,
  describe,
};

export type F = typeof f;
(globalThis as unknown as { f: F }).f = f;
