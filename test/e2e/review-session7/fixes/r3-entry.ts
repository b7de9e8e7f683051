// Page script for the r3 break-it review: the browser store itself, driven through `window.r3`.
import {
  createBrowserTokenStore,
  indexedDbStorage,
  localStorageAdapter,
  memoryStorage,
} from '../../../../src/browser.js';
import type { SharedTokenStore, TokenStorage } from '../../../../src/browser.js';
import { createTokenSession } from '../../../../src/index.js';
import type { TokenSession, TokenSet } from '../../../../src/index.js';

export interface R3Config {
  readonly name: string;
  readonly storage: 'memory' | 'localStorage' | 'sessionStorage' | 'indexedDB' | 'slow';
  readonly slowGetMs?: number;
  readonly refreshTimeoutMs?: number;
  readonly idb?: { database?: string; objectStore?: string; key?: string };
}

let store: SharedTokenStore | undefined;
let session: TokenSession | undefined;
const errors: string[] = [];
const heard: number[] = [];
const presented: string[] = [];

function storageFor(config: R3Config): TokenStorage {
  const key = `${config.name}:tokens`;
  if (config.storage === 'localStorage') return localStorageAdapter(key);
  if (config.storage === 'sessionStorage') {
    return {
      get: () => sessionStorage.getItem(key),
      set: (value) => (value === null ? sessionStorage.removeItem(key) : sessionStorage.setItem(key, value)),
    };
  }
  if (config.storage === 'slow') {
    // An async storage (an encrypting wrapper, a remote KV): get takes slowGetMs.
    const inner = localStorageAdapter(key);
    return {
      get: async () => {
        await new Promise((resolve) => setTimeout(resolve, config.slowGetMs ?? 0));
        return inner.get();
      },
      set: (value) => inner.set(value),
    };
  }
  if (config.storage === 'indexedDB') return indexedDbStorage(config.idb ?? { key: config.name });
  return memoryStorage();
}

const r3 = {
  start(config: R3Config): void {
    store = createBrowserTokenStore({
      name: config.name,
      storage: storageFor(config),
      onError: (error) => errors.push(`${error.code}: ${error.message}`),
    });
    store.subscribe((record) => heard.push(record.version));
  },
  startSession(config: R3Config): void {
    r3.start(config);
    session = createTokenSession({
      store: store!,
      tokens: async () => null,
      refreshTimeoutMs: config.refreshTimeoutMs ?? 3000,
      refresh: async (current) => {
        presented.push(current.refreshToken ?? '');
        return { accessToken: `${current.accessToken}+`, refreshToken: `${current.refreshToken}+` };
      },
    });
    session.on('refreshError', (error) => errors.push(`${error.code}: ${error.message}`));
  },
  async login(tokens: TokenSet): Promise<void> {
    await session!.setTokens(tokens);
  },
  async refresh(): Promise<string> {
    try {
      return (await session!.refresh()).refreshToken ?? '';
    } catch (error) {
      return `error ${(error as Error).message}`;
    }
  },
  sessionTokens: () => session?.getTokens() ?? null,
  async read(): Promise<number> {
    return (await store!.read()).version;
  },
  /** Writes `count` records one after the other, each at the version the last write returned. */
  async writes(count: number, prefix: string): Promise<number> {
    let version = (await store!.read()).version;
    for (let i = 0; i < count; i += 1) {
      const written = await store!.write({ accessToken: `${prefix}a${i}`, refreshToken: `${prefix}r${i}` }, version);
      if (written === null) version = (await store!.read()).version;
      else version = written.version;
    }
    return version;
  },
  async write(tokens: TokenSet | null, version: number): Promise<number | null> {
    return (await store!.write(tokens, version))?.version ?? null;
  },
  storedVersion(config: R3Config): number | null {
    const key = `${config.name}:tokens`;
    const text = config.storage === 'sessionStorage' ? sessionStorage.getItem(key) : localStorage.getItem(key);
    return text === null ? null : (JSON.parse(text) as { version: number }).version;
  },
  /** Opens `count` new object stores in `database`, one after the other (each a version upgrade). */
  async addObjectStores(database: string, count: number): Promise<number> {
    let done = 0;
    for (let i = 0; i < count; i += 1) {
      const storage = indexedDbStorage({ database, objectStore: `other-${Date.now()}-${i}`, key: 'k' });
      try {
        await storage.get();
        done += 1;
      } catch {}
    }
    return done;
  },
  async idbRecord(database: string, objectStore: string, key: string): Promise<string | null> {
    const value = await indexedDbStorage({ database, objectStore, key }).get();
    return value === null || value === undefined ? null : String(value);
  },
  errors: () => errors,
  heard: () => heard,
  presented: () => presented,
};

export type R3 = typeof r3;
(globalThis as unknown as { r3: R3 }).r3 = r3;
