import { isTokenRefreshError, TokenRefreshError } from './errors.js';
import {
  checkExpectedVersion,
  checkLockOptions,
  jsonCopy,
  leaseLost,
  Listeners,
  lockTimedOut,
  malformedAt,
  noop,
  reportDropped,
  reportStoreError,
  Sleepers,
  StoreLife,
  type StoreListener,
} from './shared-store.js';
import {
  parseStoredRecord,
  storedRecord,
  type EndReason,
  type LockContext,
  type LockOptions,
  type SharedTokenStore,
  type StoredTokens,
  type TokenStore,
} from './store.js';
import type { TokenSet } from './tokens.js';
import {
  checkObject,
  checkOptions,
  readOptions,
  expected,
  isFunction,
  type Rule,
  isNonEmptyString,
  withDefaults,
} from './validate.js';

export type { SharedTokenStore } from './store.js';

/**
 * Where a browser store keeps its record (the tokens and their version, as one JSON string). Write your own for any
 * storage: `get` returns what `set` stored last, or null when nothing is stored; `set(null)` removes it. Both may be
 * async.
 *
 * @example
 * ```ts
 * // sessionStorage: one copy per tab. `perTab` makes the store copy the tokens other tabs announce into it, so
 * // that a reload (or "Duplicate tab") does not find a refresh token another tab has spent since.
 * const sessionStorageAdapter: TokenStorage = {
 *   get: () => sessionStorage.getItem('tokens'),
 *   set: (value) => (value === null ? sessionStorage.removeItem('tokens') : sessionStorage.setItem('tokens', value)),
 *   perTab: true,
 * };
 * ```
 */
export interface TokenStorage {
  /** Returns the stored string, or null when there is none. */
  get(): string | null | Promise<string | null>;
  /** Stores the string; null removes it. */
  set(value: string | null): void | Promise<void>;
  /**
   * True when each tab has a copy of its own that outlives a reload (`sessionStorage`): the store then copies every
   * record other tabs announce into it (one at a time with its own writes, never over a newer one), so that a reload
   * does not find a refresh token another tab has spent since. Leave it out for storage every tab reads (`localStorage`,
   * IndexedDB): a tab that only listens then never touches the storage or the write lock.
   *
   * @default false
   */
  readonly perTab?: boolean;
}

/**
 * Keeps the tokens in this tab's memory only: nothing survives a reload, and no script can read them from storage.
 * Other tabs get new tokens from the store's `BroadcastChannel` announcements, and a new tab asks the open ones.
 * The default storage of {@link createBrowserTokenStore}.
 */
export function memoryStorage(): TokenStorage {
  let value: string | null = null;
  return {
    get: () => value,
    set: (next) => {
      value = next;
    },
  };
}

/**
 * Keeps the tokens in `localStorage` under `key`: they survive reloads and are shared by every tab of the origin,
 * and every script of the origin can read them (an XSS can steal them). Prefer {@link memoryStorage} unless the tokens
 * must survive a reload.
 *
 * @param key - the `localStorage` key, e.g. `'my-app:tokens'`.
 */
export function localStorageAdapter(key: string): TokenStorage {
  if (!isNonEmptyString(key)) throw new TypeError(expected('key', 'a non-empty string', key));
  // Looked up on use, not at import, so that the module can be imported during server-side rendering.
  const storage = (): Storage => {
    if (typeof localStorage === 'undefined') {
      throw new TypeError('localStorageAdapter needs `localStorage`, which this environment does not have');
    }
    return localStorage;
  };
  return {
    get: () => storage().getItem(key),
    set: (value) => (value === null ? storage().removeItem(key) : storage().setItem(key, value)),
  };
}

/**
 * One connection to `database`, opened on first use and opened again after the browser or another tab closed it; `run`
 * makes one transaction on `objectStore` with it.
 */
function connectTo(
  database: string,
  objectStore: string,
): <T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>) => Promise<T> {
  let opened: Promise<IDBDatabase> | undefined;
  /** Set while an upgrade given up as blocked is still queued: every open would wait behind it. */
  const blocked: { error?: Error | undefined } = {};
  /** The open connection, once `opened` resolved. */
  let current: IDBDatabase | undefined;
  /** Drops the connection (`db`, unless an older one whose news comes late), so that the next call opens a new one. */
  const forget = (db: IDBDatabase | undefined): void => {
    if (db !== current) return;
    current?.close();
    current = undefined;
    opened = undefined;
  };
  const connection = (): Promise<IDBDatabase> => {
    if (blocked.error) return Promise.reject(blocked.error);
    opened ??= openDatabase(database, objectStore, blocked).then(
      (db) => {
        // Another tab (or the app) needs a new version (another object store) or deletes the database: let it, and
        // open again next time. The browser closing it (site data cleared) is the same.
        current = db;
        db.onversionchange = () => forget(db);
        db.onclose = () => forget(db);
        return db;
      },
      (error: unknown) => {
        opened = undefined;
        throw error;
      },
    );
    return opened;
  };
  const run = async <T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    for (let tries = 0; ; tries += 1) {
      let db: IDBDatabase | undefined;
      try {
        db = await connection();
        return await inTransaction(db, objectStore, mode, action);
      } catch (error) {
        // A connection closed under us (site data cleared: its `close` event may come later) is not kept. While the
        // browser is still clearing, every connection opened is closed too, so the call is made again on a new one
        // after a growing pause, until the clearing is over (a few hundred ms under load) or the pauses run out.
        if (db) forget(db);
        if (!closedUnderUs(error)) throw error;
        const pause = RETRY_PAUSES_MS[tries];
        if (pause === undefined) throw keptClosing(database, tries + 1, error);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  };
  return run;
}

/** The error of a call whose connection the browser closed at each of its `tries`. */
function keptClosing(database: string, tries: number, cause: unknown): TokenRefreshError {
  return new TokenRefreshError(
    'STORE_FAILED',
    `IndexedDB kept closing the connection to the database \`${database}\` (${tries} tries in about 1.5 s), as it ` +
      "does while the browser clears the site's data: try again later, or reload the page",
    { cause },
  );
}

/** Options of {@link indexedDbStorage}. */
export interface IndexedDbStorageOptions {
  /** The database name. @default 'axios-token-refresh' */
  readonly database?: string;
  /** The object store inside it (created on first use). @default 'tokens' */
  readonly objectStore?: string;
  /** The record's key inside the object store. @default 'default' */
  readonly key?: string;
}

/**
 * Keeps the tokens in IndexedDB: they survive reloads, every tab of the origin reads the same committed value (unlike
 * `localStorage`, whose copies in other tabs lag behind), and a service worker can read them too. Every script of the
 * origin can read them.
 *
 * @param options - database, object store and key names.
 */
export function indexedDbStorage(options: IndexedDbStorageOptions = {}): TokenStorage {
  checkObject(options);
  // `null` takes the default too (as `??` does), so the defaults go in before the checks.
  const names = Object.keys(INDEXED_DB_DEFAULTS) as (keyof IndexedDbStorageOptions)[];
  const settings = withDefaults(INDEXED_DB_DEFAULTS, readOptions(options, names));
  const { database, objectStore, key } = checkOptions(settings, INDEXED_DB_RULES);
  const run = connectTo(database, objectStore);
  return {
    get: async () => {
      const value: unknown = await run('readonly', (store) => store.get(key));
      return typeof value === 'string' ? value : null;
    },
    set: async (value) => {
      await run<unknown>('readwrite', (store) =>
        value === null ? (store.delete(key) as IDBRequest<unknown>) : (store.put(value, key) as IDBRequest<unknown>),
      );
    },
  };
}

/**
 * The pauses before each new try of a call whose connection was closed under it: about 1.5 s in all, longer than the
 * browser takes to clear a site's data under load.
 */
const RETRY_PAUSES_MS: readonly number[] = [0, 25, 50, 100, 200, 400, 700];
/** Whether an open or a transaction failed because the browser closed the connection (or the database went away). */
const closedUnderUs = (error: unknown): boolean =>
  error instanceof DOMException && ['AbortError', 'InvalidStateError', 'UnknownError'].includes(error.name);
/** How long an upgrade may stay blocked by another connection before the call fails (the next call tries again). */
const BLOCKED_MS = 1000;
/** At most this many upgrades to add one object store, even while other stores' upgrades keep coming first. */
const MAX_UPGRADES = 50;
/** How long opening may take before the call fails: an open queued behind a blocked upgrade would wait for good. */
const OPEN_MS = 2000;
const INDEXED_DB_DEFAULTS = { database: 'axios-token-refresh', objectStore: 'tokens', key: 'default' };
const INDEXED_DB_RULES: readonly Rule[] = Object.keys(INDEXED_DB_DEFAULTS).map((name) => [
  name,
  'a non-empty string',
  isNonEmptyString,
]);

/** Opens `database`, creating `objectStore` in it when missing (in a new version of a database that exists). */
async function openDatabase(
  database: string,
  objectStore: string,
  blocked: { error?: Error | undefined },
): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') {
    throw new TypeError('indexedDbStorage needs `indexedDB`, which this environment does not have');
  }
  const stuck = new TokenRefreshError(
    'STORE_FAILED',
    `Opening the IndexedDB database \`${database}\` (to add the object store \`${objectStore}\`, or behind such an ` +
      'upgrade) is blocked by another open connection to it that does not close on `versionchange`: close it, or ' +
      'use another database',
  );
  // Other object stores' first uses may upgrade the database at the same moment: each try that finds a newer version
  // made progress, so the tries go on while the version goes up (bounded by the number of stores racing).
  for (let tries = 1, before = -1; ; tries += 1) {
    const db = await openBounded(indexedDB.open(database), objectStore, stuck, OPEN_MS);
    if (db.objectStoreNames.contains(objectStore)) return db;
    if (db.version <= before || tries > MAX_UPGRADES) {
      db.close();
      throw new TokenRefreshError(
        'STORE_FAILED',
        `Adding the object store \`${objectStore}\` to the IndexedDB database \`${database}\` failed ${tries - 1} ` +
          'times: other upgrades of it came first each time, or removed it',
      );
    }
    before = db.version;
    // The database exists without our object store: add it in a new version.
    const version = db.version + 1;
    db.close();
    try {
      const upgraded = await upgrade(database, version, objectStore, stuck, blocked);
      if (upgraded.objectStoreNames.contains(objectStore)) return upgraded;
      upgraded.close();
    } catch (error) {
      if (!(error instanceof DOMException && error.name === 'VersionError')) throw error;
    }
    // Another object store's first use upgraded the database at the same moment: this version has no object store of
    // ours (or is older than the database's). Open again and upgrade from there.
  }
}

/** Opens `database` in `version`, adding `objectStore`: bounded while another connection blocks the upgrade. */
function upgrade(
  database: string,
  version: number,
  objectStore: string,
  stuck: Error,
  blocked: { error?: Error | undefined },
): Promise<IDBDatabase> {
  const request = indexedDB.open(database, version);
  // Other tabs of this package close on `versionchange` (a moment later); a connection that never does (the app's
  // own) would keep the upgrade, and every open queued behind it, waiting for good.
  let timer: ReturnType<typeof setTimeout> | undefined;
  request.addEventListener('blocked', () => {
    timer ??= setTimeout(() => (blocked.error = stuck), BLOCKED_MS);
  });
  const settled = () => {
    clearTimeout(timer);
    blocked.error = undefined;
  };
  request.addEventListener('success', settled);
  request.addEventListener('error', settled);
  return openBounded(request, objectStore, stuck, BLOCKED_MS, () => timer !== undefined);
}

/**
 * Waits for an open request, at most `ms` (counted from when it is `blocked`, for an upgrade: `isBlocked`): then it
 * rejects with `stuck`, and a connection that opens later is closed, not kept.
 */
function openBounded(
  request: IDBOpenDBRequest,
  objectStore: string,
  stuck: Error,
  ms: number,
  isBlocked?: () => boolean,
): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    let givenUp = false;
    const giveUp = () => {
      if (isBlocked && !isBlocked()) return;
      givenUp = true;
      reject(stuck);
    };
    const timer = setTimeout(giveUp, ms);
    request.onupgradeneeded = () => request.result.createObjectStore(objectStore);
    request.addEventListener('success', () => {
      clearTimeout(timer);
      if (givenUp) request.result.close();
      else resolve(request.result);
    });
    request.addEventListener('error', () => {
      clearTimeout(timer);
      reject(request.error);
    });
    if (isBlocked) request.addEventListener('blocked', () => setTimeout(giveUp, ms));
  });
}

/** Why `transaction` was aborted (a DOMException, never null). */
const aborted = (transaction: IDBTransaction): DOMException =>
  transaction.error ?? new DOMException('The IndexedDB transaction was aborted', 'AbortError');

/** Runs one request in its own transaction; resolves with its result once the transaction commits. */
function inTransaction<T>(
  db: IDBDatabase,
  objectStore: string,
  mode: IDBTransactionMode,
  action: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const transaction = db.transaction(objectStore, mode);
    const request = action(transaction.objectStore(objectStore));
    // Resolve on commit, not on the request's success: only a committed write is visible to other tabs.
    transaction.oncomplete = () => resolve(request.result);
    // A failed request's `error` event reaches the transaction while `transaction.error` is still null, so the
    // request's own error is the one to reject with (rejecting with null hid a closed connection). A connection closed
    // under the transaction may send no `abort` after it.
    transaction.onerror = (event) => reject((event.target as IDBRequest).error ?? aborted(transaction));
    transaction.onabort = () => reject(aborted(transaction));
  });
}

/** Options of {@link createBrowserTokenStore}. */
export interface BrowserTokenStoreOptions {
  /**
   * Names the login being shared: tabs of one origin that use the same name share tokens and refresh once. It names
   * the Web Lock (`axios-token-refresh:<name>`) and the `BroadcastChannel` (the same string). Not secret.
   *
   * @default 'default'
   */
  readonly name?: string;
  /**
   * Where the tokens and their version are kept.
   *
   * @default memoryStorage()
   */
  readonly storage?: TokenStorage;
  /**
   * The Web Locks manager. Null, or a browser without Web Locks, gives a per-tab lock: the tabs no longer wait for
   * one another, so each tab may refresh on its own (with rotation, the second refresh spends a refresh token
   * already spent and the server may revoke the grant; see docs/sharing.md).
   *
   * @default navigator.locks
   */
  readonly locks?: LockManager | null;
  /**
   * Hears about announcements from other tabs that this store dropped because they are not well-formed token records,
   * and about writes the storage refused (a full `localStorage`: the open tabs share the tokens all the same). Each is
   * a `TokenRefreshError` of code `STORE_FAILED`, whose message never contains a token. When left out, they go
   * to `reportError` (the console and `window.onerror`). If it throws, that is reported like any callback error.
   *
   * @default undefined (`reportError`)
   */
  readonly onError?: (error: TokenRefreshError) => void;
}

const PREFIX = 'axios-token-refresh:';
/** How long a tab waits for the newest tokens to reach it from the tab that holds them. */
const CATCH_UP_MS = 5000;

/** An announcement: `version` and `tokens` are checked like a stored record before anyone adopts them. */
interface TokensMessage {
  readonly type: 'tokens';
  readonly version: number;
  readonly tokens: TokenSet | null;
  readonly ended?: EndReason;
}
interface WantMessage {
  readonly type: 'want';
  readonly version: number;
}
/**
 * A tab says it is there (`hello`, when its store starts), or asks a tab it cannot see to check whether its own Web
 * Locks are still the origin's (`check`, see `#checkTab`).
 */
interface TabMessage {
  readonly type: 'hello' | 'check';
  readonly to?: string;
}
/** What every message of a tab that holds its presence lock carries besides: that tab's id. */
interface Sender {
  readonly from: string;
}
type Message = TokensMessage | WantMessage | TabMessage;

/** Whether `locks` holds a lock named `name`. */
async function holds(locks: LockManager, name: string): Promise<boolean> {
  return ((await locks.query()).held ?? []).some((lock) => lock.name === name);
}

/**
 * A {@link TokenStore} for the tabs of one web app: one refresh for all of them, even with refresh-token rotation.
 *
 * - Lock: a Web Lock (`navigator.locks.request`), which the browser frees by itself when the tab that holds it is
 *   closed or crashes; a holder that runs past `leaseMs` loses it too (its `signal` aborts). Waiting gives up after
 *   `waitMs`.
 * - Tokens: in the {@link TokenStorage} you choose, with their version, written by compare-and-set under a second,
 *   short Web Lock; announced to the other tabs through a `BroadcastChannel`.
 * - Every tab holds a shared Web Lock named after the newest version it has, so a tab that takes the refresh lock
 *   knows whether newer tokens exist than it has seen (an announcement may still be in flight, and `localStorage`
 *   copies in other tabs lag) and waits for them instead of refreshing with a spent refresh token.
 * - Every tab holds a Web Lock of its own and checks that it sees those of the tabs it hears from: after the site's
 *   data is cleared, Chromium gives the tabs opened since new Web Locks, and a tab left with the old ones moves to the
 *   new ones (see docs/sharing.md).
 *
 * Without Web Locks (old browsers, some webviews) the lock is per tab: see {@link BrowserTokenStoreOptions.locks}.
 * No Node.js imports: safe for any bundler.
 *
 * @example
 * ```ts
 * import { attachRefresh } from 'axios-token-refresh';
 * import { createBrowserTokenStore, localStorageAdapter } from 'axios-token-refresh/browser';
 *
 * const store = createBrowserTokenStore({ name: 'my-app', storage: localStorageAdapter('my-app:tokens') });
 * attachRefresh(api, { store, refresh });
 * ```
 */
export function createBrowserTokenStore(options: BrowserTokenStoreOptions = {}): SharedTokenStore {
  checkObject(options);
  const given = checkOptions(options, [
    ['name', 'a non-empty string', isNonEmptyString],
    ['storage', 'a TokenStorage ({ get, set })', isStorage],
    ['locks', 'a LockManager or null', (value) => value === null || isLockManager(value)],
    ['onError', 'a function', isFunction],
  ]);
  // `locks: null` is a choice (the per-tab lock), not a missing option: only `undefined` takes the browser's.
  const locks = given.locks === undefined ? browserLocks() : given.locks;
  return new BrowserTokenStore({ ...withDefaults({ name: 'default', storage: memoryStorage() }, given), locks });
}

/** The browser's Web Locks manager, or null where there is none. */
function browserLocks(): LockManager | null {
  return typeof navigator !== 'undefined' && isLockManager(navigator.locks) ? navigator.locks : null;
}

function isStorage(value: unknown): boolean {
  const storage = value as Partial<TokenStorage> | null;
  return typeof storage === 'object' && storage !== null && isFunction(storage.get) && isFunction(storage.set);
}

function isLockManager(value: unknown): boolean {
  return typeof value === 'object' && value !== null && isFunction((value as { request?: unknown }).request);
}

/** The subset of `LockManager` this store uses. */
interface Locks {
  request<T>(name: string, options: { mode?: LockMode; signal?: AbortSignal }, callback: () => Promise<T>): Promise<T>;
}

/** An exclusive, per-tab lock with the Web Locks calling convention, for browsers without Web Locks. */
class TabLocks implements Locks {
  readonly #tails = new Map<string, Promise<void>>();

  request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(name, tail);
    const { signal } = options;
    return new Promise<T>((resolve, reject) => {
      let granted = false;
      const onAbort = (): void => {
        if (granted) return;
        // Still queued: leave the queue so that later requests do not wait for us.
        previous.then(release, release);
        reject(signal?.reason);
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      void previous.then(async () => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) return;
        granted = true;
        try {
          resolve(await callback());
        } catch (error) {
          reject(error);
        } finally {
          release();
          if (this.#tails.get(name) === tail) this.#tails.delete(name);
        }
      });
    });
  }
}

type ResolvedOptions = Required<Omit<BrowserTokenStoreOptions, 'onError'>> & Pick<BrowserTokenStoreOptions, 'onError'>;

class BrowserTokenStore implements SharedTokenStore {
  readonly #name: string;
  readonly #storage: TokenStorage;
  #locks: Locks;
  /** The Web Locks manager, when there is one: only it can tell which versions other tabs hold. */
  #webLocks: LockManager | undefined;
  readonly #channel: BroadcastChannel | undefined;
  readonly #life: StoreLife;
  readonly #listeners: Listeners;
  readonly #onError: ((error: TokenRefreshError) => void) | undefined;
  /** Releases of the shared "I have version n" locks this tab holds, by version. */
  readonly #versionLocks = new Map<number, () => void>();
  /** Versions whose shared lock was requested, granted or not: one request per version. */
  readonly #versionRequests = new Map<number, Promise<void>>();
  /** The newest record this tab has seen: from storage, its own writes, or announcements. */
  #known: StoredTokens = { tokens: null, version: 0 };
  /** This tab's copies into a `perTab` storage, one at a time (see `#mirror`). */
  #copying: Promise<void> = Promise.resolve();
  /** Catch-ups waiting for an announcement (several may wait at once). */
  readonly #catchingUp = new Sleepers();
  /** This tab's id in its messages and in the name of its presence lock (`<name>:tab:<id>`). */
  readonly #tab = Math.random().toString(36).slice(2);
  /**
   * Resolves once this tab holds its presence lock: no message goes out before. `false` when it holds none (no Web
   * Locks, or `locks` refused: an iframe of another site): its messages then do not name it, and it checks no tab.
   */
  #present: Promise<boolean>;
  /** Releases of this tab's presence locks (one per Web Locks it used). */
  readonly #leaving: (() => void)[] = [];
  /** The tabs whose presence lock this tab saw. */
  readonly #tabsSeen = new Set<string>();
  /** A check of this tab's own Web Locks under way (see `#checkSelf`). */
  #checking: Promise<void> | undefined;
  /** While this tab moves to the origin's current Web Locks (see `#rejoin`): every call waits for it. */
  #rejoining: Promise<void> | undefined;
  /** Whether this tab can move (see `#rejoin`): in a page, with the browser's own Web Locks (not the app's own). */
  readonly #movable: boolean;
  /** The frame whose Web Locks this tab uses since it moved. */
  #frame: HTMLIFrameElement | undefined;
  /** The tasks running under the refresh lock. */
  readonly #running = new Set<Promise<unknown>>();
  /** While this tab takes the tokens of the tabs it moved to: who sent which (see `#adoptCurrent`). */
  #offered: ((record: StoredTokens, from: unknown) => void) | undefined;

  constructor(options: ResolvedOptions) {
    const name = `${PREFIX}${options.name}`;
    this.#name = name;
    this.#life = new StoreLife(`the browser token store \`${name}\``);
    this.#listeners = new Listeners(this.#life.where);
    this.#onError = options.onError;
    this.#storage = options.storage;
    this.#webLocks = options.locks ?? undefined;
    this.#locks = this.#webLocks ?? new TabLocks();
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(name);
      this.#channel.onmessage = (event: MessageEvent) => this.#onMessage(event.data);
    }
    this.#movable =
      typeof document !== 'undefined' && this.#webLocks !== undefined && this.#webLocks === browserLocks();
    this.#present = this.#webLocks === undefined ? Promise.resolve(false) : this.#holdPresence(this.#webLocks);
    this.#post({ type: 'hello' });
  }

  /**
   * Waits for a move under way (see `#rejoin`). A tab that moved uses the Web Locks of its frame: when the app removed
   * the frame (rebuilding the document), the browser freed every lock held there, and the tab moves again.
   */
  async #settled(): Promise<void> {
    await this.#rejoining;
    if (this.#frame !== undefined && !this.#frame.isConnected) await this.#checkSelf();
  }

  /** Holds this tab's presence lock in `locks` until the store closes; resolves whether it got it. */
  #holdPresence(locks: LockManager): Promise<boolean> {
    return new Promise<boolean>((granted) => {
      const held = new Promise<void>((release) => this.#leaving.push(release));
      // A lock manager that refuses (or throws) leaves the tab unnamed, never silent.
      Promise.resolve()
        .then(() =>
          locks.request(`${this.#name}:tab:${this.#tab}`, () => {
            granted(!this.#life.closed);
            return this.#life.closed ? undefined : held;
          }),
        )
        .catch(() => granted(false));
    });
  }

  async read(): Promise<StoredTokens> {
    this.#life.assertOpen('read');
    await this.#settled();
    await this.#catchUp();
    return this.#known;
  }

  async write(tokens: TokenSet | null, expectedVersion: number, ended?: EndReason): Promise<StoredTokens | null> {
    this.#life.assertOpen('write');
    checkExpectedVersion(expectedVersion);
    await this.#settled();
    const next = storedRecord(jsonCopy(tokens), expectedVersion + 1, ended);
    // A second, short lock makes the compare-and-set atomic across tabs; the refresh lock may be held by the caller,
    // and Web Locks are not reentrant.
    return this.#locks
      .request(`${this.#name}:write`, { signal: AbortSignal.timeout(CATCH_UP_MS) }, async () => {
        // A malformed stored record does not stop the write: it is what the write replaces.
        await this.#catchUp(true);
        if (this.#known.version !== expectedVersion) return null;
        // With a `perTab` storage, after any copy of another tab's record this tab has begun (see #mirror).
        const saving = this.#copying.then(() => this.#save(next));
        this.#copying = saving;
        await saving;
        this.#known = next;
        this.#post({ type: 'tokens', ...next });
        // Before the write lock is released, so that whoever takes a lock next can see that this version exists.
        await this.#holdVersion(next.version);
        return next;
      })
      .catch((error: unknown) => {
        throw this.#timeoutAsError(error);
      });
  }

  async withLock<T>(task: (context: LockContext) => Promise<T>, options: LockOptions): Promise<T> {
    this.#life.assertOpen('withLock');
    checkLockOptions(options);
    await this.#settled();
    let running: Promise<T> | undefined;
    await this.#life.abortable(async (controller) => {
      const waiting = new AbortController();
      const timedOut = lockTimedOut(options.waitMs, `refresh lock \`${this.#name}\``);
      const waitTimer = setTimeout(() => waiting.abort(timedOut), options.waitMs);
      const onClose = (): void => waiting.abort(controller.signal.reason);
      controller.signal.addEventListener('abort', onClose, { once: true });
      try {
        await this.#locks.request(this.#name, { signal: waiting.signal }, async () => {
          clearTimeout(waitTimer);
          controller.signal.removeEventListener('abort', onClose);
          // A lock granted just as the wait ran out (or the store closed) is given back without running the task.
          if (controller.signal.aborted || waiting.signal.aborted) return;
          const started = task({ signal: controller.signal });
          running = started;
          // A move to other Web Locks (see #rejoin) waits for it.
          this.#running.add(started);
          const done = () => this.#running.delete(started);
          void started.then(done, done);
          const lost = leaseLost(`the refresh lock \`${this.#name}\``, options.leaseMs);
          await holdWhileRunning(running, controller, lost, options.leaseMs);
        });
      } catch (error) {
        throw waiting.signal.aborted ? waiting.signal.reason : error;
      } finally {
        clearTimeout(waitTimer);
      }
      if (running === undefined) throw waiting.signal.aborted ? waiting.signal.reason : controller.signal.reason;
    });
    return running as Promise<T>;
  }

  subscribe(listener: StoreListener): () => void {
    this.#life.assertOpen('subscribe');
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (!this.#life.close()) return;
    this.#listeners.clear();
    this.#channel?.close();
    for (const leave of this.#leaving) leave();
    this.#frame?.remove();
    for (const release of this.#versionLocks.values()) release();
    this.#versionLocks.clear();
    this.#versionRequests.clear();
    this.#catchingUp.wakeAll();
  }

  /**
   * Writes a record to the storage. When the storage refuses it (a full `localStorage`: `QuotaExceededError`), the
   * open tabs still share it through the channel and the version locks, so the write goes on; the record it replaces
   * is removed rather than left behind (after a refresh it holds a spent refresh token, which the next start would
   * present), and the failure goes to `onError`.
   */
  async #save(record: StoredTokens): Promise<void> {
    try {
      await this.#storage.set(JSON.stringify(record));
    } catch (error) {
      await Promise.resolve(null)
        .then(() => this.#storage.set(null))
        .catch(noop);
      const message =
        `Writing tokens to the storage of \`${this.#name}\` failed: the open tabs share them, but a tab opened after ` +
        'the last one closes finds none (log in again)';
      reportStoreError(this.#onError, new TokenRefreshError('STORE_FAILED', message, { cause: error }));
    }
  }

  /**
   * Keeps a `perTab` storage (`sessionStorage`, copied by "Duplicate tab") as new as a record this tab heard from
   * another: a reload reads it, and must not find the refresh token the other tab has spent since. Only this tab
   * writes its own copy, so no cross-tab lock is taken (a tab that only listens must never hold one: a dialog or a
   * paused debugger in it would stall the other tabs); this tab's own saves and copies go one at a time, and an older
   * record never replaces a newer one.
   */
  #mirror(record: StoredTokens): void {
    this.#copying = this.#copying
      .then(async () => {
        if (this.#known !== record || this.#life.closed || (await this.#storageHolds(record.version))) return;
        if (this.#known === record) await this.#save(record);
      })
      .catch(noop);
  }

  /** Whether the storage holds `version` or a newer one. */
  async #storageHolds(version: number): Promise<boolean> {
    const text = await this.#storage.get();
    const stored = typeof text === 'string' ? parseStoredRecord(text) : undefined;
    return stored !== undefined && 'record' in stored && stored.record.version >= version;
  }

  /** The store did not get its short write lock in time: a store failure like any other that does not answer. */
  #timeoutAsError(error: unknown): unknown {
    const name = (error as { name?: unknown } | null)?.name;
    if (name !== 'TimeoutError' && name !== 'AbortError') return error;
    const message = `Timed out after ${CATCH_UP_MS} ms waiting for the write lock of \`${this.#name}\``;
    return new TokenRefreshError('STORE_FAILED', message, { cause: error });
  }

  /** Adopts the stored record when it is newer. A malformed one throws, unless `tolerant` (a write replaces it). */
  async #readStorage(tolerant = false): Promise<void> {
    const what = `Reading tokens from the storage of \`${this.#name}\``;
    let text: string | null;
    try {
      text = await this.#storage.get();
    } catch (error) {
      // Our own storage's errors (indexedDbStorage) say what to do; anything else is the app's storage, named here.
      throw isTokenRefreshError(error)
        ? error
        : new TokenRefreshError('STORE_FAILED', `${what} failed`, { cause: error });
    }
    if (text === null) return;
    const parsed = typeof text === 'string' ? parseStoredRecord(text) : { problem: 'it is not a string' };
    if ('record' in parsed) this.#adopt(parsed.record, false);
    else if (!tolerant) throw malformedAt(what, parsed.problem);
  }

  /**
   * Brings `#known` up to the newest version any tab holds: reads the storage, then, when another tab holds a newer
   * version than that, asks for it and waits for it to arrive (bounded).
   */
  async #catchUp(tolerant = false): Promise<void> {
    await this.#readStorage(tolerant);
    const newest = await this.#newestHeldVersion();
    if (newest <= this.#known.version) return;
    if (this.#channel === undefined) {
      throw new TokenRefreshError(
        'STORE_FAILED',
        `Another tab has newer tokens (version ${newest}) for \`${this.#name}\`, but this browser has no ` +
          'BroadcastChannel to bring them: keep them in storage every tab reads (localStorageAdapter() or ' +
          'indexedDbStorage())',
      );
    }
    // A monotonic clock: a wall clock set back (NTP step, user, VM resume) would stretch the wait to match.
    const deadline = performance.now() + CATCH_UP_MS;
    while (this.#known.version < newest && !this.#life.closed) {
      if (performance.now() > deadline) {
        throw new TokenRefreshError(
          'STORE_FAILED',
          `Another tab has newer tokens (version ${newest}) for \`${this.#name}\`, but they did not reach this tab ` +
            `within ${CATCH_UP_MS} ms`,
        );
      }
      this.#post({ type: 'want', version: newest });
      // Woken by the announcement; the timer only re-asks in case the tab holding the tokens missed the question.
      await this.#catchingUp.sleep(50);
      await this.#readStorage(tolerant);
    }
  }

  async #newestHeldVersion(): Promise<number> {
    if (this.#webLocks === undefined || typeof this.#webLocks.query !== 'function') return 0;
    const snapshot = await this.#webLocks.query();
    const prefix = `${this.#name}:version:`;
    let newest = 0;
    for (const lock of snapshot.held ?? []) {
      if (lock.name?.startsWith(prefix)) {
        const version = Number(lock.name.slice(prefix.length));
        if (Number.isSafeInteger(version) && version > newest) newest = version;
      }
    }
    return newest;
  }

  /** Holds a shared lock saying "this tab has version n" until it has a newer one or closes. */
  #holdVersion(version: number): Promise<void> {
    const webLocks = this.#webLocks;
    if (webLocks === undefined || this.#life.closed) return Promise.resolve();
    let request = this.#versionRequests.get(version);
    if (request === undefined) {
      request = new Promise<void>((granted, failed) => {
        webLocks
          .request(`${this.#name}:version:${version}`, { mode: 'shared' }, () => {
            granted();
            return new Promise<void>((release) => {
              this.#versionLocks.set(version, release);
              if (this.#life.closed) release();
            });
          })
          .catch(failed);
      }).then(() => this.#releaseOlderVersions());
      this.#versionRequests.set(version, request);
    }
    return request;
  }

  #releaseOlderVersions(): void {
    for (const [held, release] of this.#versionLocks) {
      if (held < this.#known.version) {
        release();
        this.#versionLocks.delete(held);
        this.#versionRequests.delete(held);
      }
    }
  }

  /** Takes a record as the newest when it is; returns whether it was. */
  #adopt(stored: StoredTokens, announce: boolean): boolean {
    if (stored.version <= this.#known.version) return false;
    this.#known = stored;
    void this.#holdVersion(stored.version).catch(noop);
    this.#catchingUp.wakeAll();
    if (announce) this.#listeners.tell(stored);
    return true;
  }

  /** Sends `message` to the other tabs, once this tab holds its presence lock, naming this tab. */
  #post(message: Message): void {
    void this.#present.then((present) => {
      if (!this.#life.closed) this.#channel?.postMessage(present ? { ...message, from: this.#tab } : message);
    });
  }

  #onMessage(data: unknown): void {
    if (this.#life.closed) return;
    const message = data as Partial<Message & Sender> | null;
    const from = message?.from;
    if (typeof from === 'string' && from !== this.#tab) {
      const tab = message as Partial<TabMessage>;
      if (tab.type === 'check' && tab.to === this.#tab) void this.#checkSelf();
      if (!this.#tabsSeen.has(from)) void this.#checkTab(from).catch(noop);
    }
    if (message?.type === 'tokens') this.#onTokens(message);
    const want = message as Partial<WantMessage> | null;
    if (want?.type === 'want' && typeof want.version === 'number' && this.#known.version >= want.version) {
      this.#post({ type: 'tokens', ...this.#known });
    }
  }

  /**
   * Checks that a tab this one hears from uses the same Web Locks. Chromium keeps Web Locks per storage bucket, and
   * clearing the site's data (a logout page's `Clear-Site-Data: "storage"`, DevTools "Clear site data") makes a new
   * one: a page that used Web Locks before keeps the old ones, every other page (and frame) gets the new ones, while
   * the channel and the storage still join them all. Both sides would take "the" refresh lock at once and present one
   * refresh token twice. When the tab's presence lock cannot be seen, it closed since, or one of the two has the old
   * Web Locks: each checks itself (`#checkSelf`), and the one that has them moves to the new ones.
   */
  async #checkTab(from: string): Promise<void> {
    const webLocks = this.#webLocks;
    if (webLocks?.query === undefined || !(await this.#present)) return;
    if (await holds(webLocks, `${this.#name}:tab:${from}`)) {
      this.#tabsSeen.add(from);
      return;
    }
    this.#post({ type: 'check', to: from });
    await this.#checkSelf();
  }

  /** Checks (one check at a time) whether this tab's Web Locks are still the origin's, and moves it if not. */
  #checkSelf(): Promise<void> {
    this.#checking ??= this.#selfCheck()
      .catch(noop)
      .finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  /**
   * A new same-origin frame has the origin's current Web Locks: when they do not hold this tab's presence lock, this
   * tab moves to them (see `#rejoin`).
   */
  async #selfCheck(): Promise<void> {
    if (!this.#movable || this.#life.closed || !(await this.#present)) return;
    const frame = document.createElement('iframe');
    frame.style.display = 'none';
    document.documentElement.append(frame);
    let moving = false;
    try {
      const locks = frame.contentWindow?.navigator.locks;
      if (!isLockManager(locks) || typeof locks?.query !== 'function') return;
      if (await holds(locks, `${this.#name}:tab:${this.#tab}`)) return;
      moving = true;
      this.#rejoining = this.#rejoin(locks, frame).finally(() => (this.#rejoining = undefined));
      await this.#rejoining;
    } finally {
      if (!moving) frame.remove();
    }
  }

  /**
   * Moves this tab to `locks` (the Web Locks of `frame`, kept for them). Their refresh lock first, held until the
   * refreshes under the old one end: no tab there refreshes meanwhile with the refresh token this tab may be spending.
   */
  async #rejoin(locks: LockManager, frame: HTMLIFrameElement): Promise<void> {
    const refreshing = Promise.allSettled([...this.#running]);
    await new Promise<void>((bridged) => {
      locks
        .request(this.#name, () => {
          bridged();
          return refreshing;
        })
        .catch(() => bridged());
    });
    if (this.#life.closed) {
      frame.remove();
      return;
    }
    this.#frame?.remove();
    this.#frame = frame;
    this.#webLocks = locks;
    this.#locks = locks;
    for (const release of this.#versionLocks.values()) release();
    this.#versionLocks.clear();
    this.#versionRequests.clear();
    this.#tabsSeen.clear();
    this.#present = this.#holdPresence(locks);
    await this.#present;
    await this.#adoptCurrent();
  }

  /**
   * After a move: the tokens of the tabs there (a login since the site's data was cleared) replace this tab's, whatever
   * their version (it counts from the clear); where those tabs have none, this tab's are theirs to take.
   */
  async #adoptCurrent(): Promise<void> {
    const newest = await this.#newestHeldVersion();
    const webLocks = this.#webLocks as LockManager;
    if (newest > 0) {
      const offered = new Promise<StoredTokens | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), CATCH_UP_MS);
        this.#offered = (record, from) => {
          // Only from a tab that uses the same Web Locks: the tabs left with the old ones answer too.
          if (record.version < newest || typeof from !== 'string') return;
          void holds(webLocks, `${this.#name}:tab:${from}`).then((same) => {
            if (!same) return;
            clearTimeout(timer);
            resolve(record);
          }, noop);
        };
        this.#post({ type: 'want', version: newest });
      });
      const record = await offered;
      this.#offered = undefined;
      if (record !== undefined) {
        this.#known = record;
        // Over this tab's own copy too (memoryStorage, sessionStorage: not cleared with the site's data), whose older
        // login would otherwise be read back as newer.
        await this.#save(record);
        this.#listeners.tell(record);
      }
    }
    await this.#holdVersion(this.#known.version);
  }

  #onTokens(message: Partial<TokensMessage & Sender>): void {
    const parsed = parseStoredRecord({ version: message.version, tokens: message.tokens, ended: message.ended });
    if (this.#offered && 'record' in parsed) {
      this.#offered(parsed.record, message.from);
      return;
    }
    // An older version than this tab has is out of date (a late answer to a `want`), and is dropped by #adopt.
    if ('record' in parsed) {
      if (this.#adopt(parsed.record, true) && this.#storage.perTab === true) this.#mirror(parsed.record);
    } else {
      reportDropped(this.#onError, `the BroadcastChannel \`${this.#name}\``, parsed.problem);
    }
  }
}

/**
 * Holds the lock until `running` settles or the lease runs out, whichever comes first: then `controller` aborts with
 * `lost` and the lock goes free. The lease bounds how long a live but stuck tab blocks the others; a closed tab frees
 * the lock at once.
 */
async function holdWhileRunning(
  running: Promise<unknown>,
  controller: AbortController,
  lost: TokenRefreshError,
  leaseMs: number,
): Promise<void> {
  let leaseTimer: ReturnType<typeof setTimeout> | undefined;
  const leaseOver = new Promise<void>((resolve) => {
    leaseTimer = setTimeout(() => {
      controller.abort(lost);
      resolve();
    }, leaseMs);
  });
  await Promise.race([running.then(noop, noop), leaseOver]);
  clearTimeout(leaseTimer);
}
