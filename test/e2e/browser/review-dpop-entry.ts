// The review page's script (bundled by esbuild): the docs' browser set-up, plus the docs' logout advice
// (`deleteDpopKey(name)`), driven through `window.reviewDpop`.
import axios from 'axios';
import { attachRefresh, isTokenRefreshError, refreshTokenGrant } from '../../../src/index.js';
import type { AttachedRefresh, TokenSet } from '../../../src/index.js';
import { createBrowserTokenStore, indexedDbStorage } from '../../../src/browser.js';
import { createDpop, deleteDpopKey, type Dpop } from '../../../src/dpop.js';

export interface ReviewTabConfig {
  readonly name: string;
  readonly tokenUrl: string;
  readonly apiUrl: string;
  readonly clientId: string;
}

let attached: AttachedRefresh | undefined;
let dpop: Dpop | undefined;
let api: ReturnType<typeof axios.create> | undefined;

const reviewDpop = {
  async start(config: ReviewTabConfig): Promise<string> {
    attached?.detach();
    dpop = await createDpop({ persist: { name: config.name } });
    api = axios.create({ baseURL: config.apiUrl });
    attached = attachRefresh(api, {
      store: createBrowserTokenStore({ name: config.name, storage: indexedDbStorage({ key: config.name }) }),
      dpop,
      refresh: refreshTokenGrant({ tokenUrl: config.tokenUrl, clientId: config.clientId, authMethod: 'none', dpop }),
      leewayMs: 0,
    });
    return dpop.thumbprint;
  },
  async login(tokens: TokenSet): Promise<void> {
    await attached!.setTokens(tokens);
  },
  /** Logout as docs/dpop.md says: the session's logout, then the key. */
  async logout(name: string): Promise<void> {
    await attached!.logout();
    await deleteDpopKey(name);
  },
  async burst(requests: number): Promise<{ ok: number; failures: string[] }> {
    const results = await Promise.allSettled(Array.from({ length: requests }, (_, i) => api!.get(`/items/${i}`)));
    const failures = results.flatMap((result) =>
      result.status === 'fulfilled'
        ? []
        : [isTokenRefreshError(result.reason) ? `${result.reason.code}` : String((result.reason as Error)?.message)],
    );
    return { ok: results.length - failures.length, failures };
  },
  /** Puts a value that is not a key pair where the key of `name` would be, then asks createDpop for it. */
  async storedNonKey(name: string): Promise<{ error: string | undefined; stillThere: unknown }> {
    const open = indexedDB.open('axios-token-refresh-dpop', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('dpop-keys');
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const put = db.transaction('dpop-keys', 'readwrite');
    put.objectStore('dpop-keys').put({ privateKey: 'not a key' }, name);
    await new Promise((resolve) => (put.oncomplete = resolve));
    const error = await createDpop({ persist: { name } }).then(
      () => undefined,
      (e: unknown) => String((e as Error)?.message),
    );
    const read = db.transaction('dpop-keys').objectStore('dpop-keys').get(name);
    const stillThere = await new Promise((resolve) => (read.onsuccess = () => resolve(read.result)));
    db.close();
    return { error, stillThere };
  },
};

export type ReviewDpop = typeof reviewDpop;
(globalThis as { reviewDpop?: ReviewDpop }).reviewDpop = reviewDpop;
