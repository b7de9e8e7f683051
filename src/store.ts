import PQueue from 'p-queue';
import { TokenRefreshError } from './errors.js';
import { tokenSetProblem, type TokenSet } from './tokens.js';

/**
 * Why a store holds no tokens: `expired` (the server refused the refresh token: every tab and process sharing the
 * store ends its session and fires `sessionExpired`), `logout` (the app logged out: requests waiting elsewhere fail
 * with `LOGGED_OUT`).
 */
export type EndReason = 'expired' | 'logout';

/** Tokens as a store holds them: the tokens and the version they were written at. */
export interface StoredTokens {
  /** The current tokens, or null when logged out / the session ended. */
  readonly tokens: TokenSet | null;
  /** Increases by one with every write. Version 0 means "never written". */
  readonly version: number;
  /** Why `tokens` is null, when the session ended or logged out (see {@link EndReason}); kept with the record. */
  readonly ended?: EndReason;
}

/** What {@link TokenStore.withLock} passes to the task it runs. */
export interface LockContext {
  /** Fires when the lock is lost (its lease ran out) or the store is closed: stop and do not write. */
  readonly signal: AbortSignal;
}

/** Options for one {@link TokenStore.withLock} call. */
export interface LockOptions {
  /**
   * How long the task may hold the lock, in milliseconds. A shared store's lease must be at least this long, so that a
   * live holder never loses the lock, and a dead holder's lock frees itself after it.
   */
  readonly leaseMs: number;
  /** How long to wait for the lock before giving up, in milliseconds. */
  readonly waitMs: number;
}

/**
 * Where tokens live and who may refresh them. The session reads and writes tokens only through its store, and runs
 * every refresh inside `withLock`, so everything that shares a store (instances, tabs, processes) refreshes once.
 *
 * The contract:
 * - `read()` returns the latest tokens and their version.
 * - `write(tokens, expectedVersion)` is a compare-and-set: it writes only when the stored version is still
 *   `expectedVersion`, and then returns the new `{tokens, version: expectedVersion + 1}`; otherwise it writes nothing
 *   and returns null (someone else wrote first). A shared store whose stored record is malformed lets the next write
 *   replace it (at a version above both). A shared store may also write above `expectedVersion + 1` when its backend
 *   lost data (the stored version is below one it saw before), so that everyone who saw the lost versions hears the
 *   write: callers use the version returned.
 * - A shared store checks every record it reads or hears with {@link parseStoredRecord}: `read()` of a malformed
 *   record rejects (`STORE_FAILED`); a malformed or out-of-date announcement is never passed to `subscribe` listeners.
 * - Nothing waits forever: a shared store bounds every call (`STORE_FAILED` when the store does not answer in time).
 * - `withLock(task)` runs `task` while no other holder of the same store runs one; it rejects when the lock cannot be
 *   had within `waitMs`.
 * - `subscribe(listener)` calls `listener` for writes made by others (other tabs, other processes); optional for a
 *   store nobody else shares.
 *
 * {@link MemoryTokenStore} is the default; `axios-token-refresh/browser` and `axios-token-refresh/redis` provide the
 * shared ones.
 */
export interface TokenStore {
  /** Reads the current tokens and version. */
  read(): StoredTokens | Promise<StoredTokens>;
  /**
   * Compare-and-set write; see the interface's contract. `ended` (only with `tokens: null`) is kept in the record and
   * returned by `read()` and to subscribers, so that everyone sharing the store learns why the tokens are gone.
   */
  write(
    tokens: TokenSet | null,
    expectedVersion: number,
    ended?: EndReason,
  ): StoredTokens | null | Promise<StoredTokens | null>;
  /** Runs `task` while holding the refresh lock shared by everyone using this store. */
  withLock<T>(task: (context: LockContext) => Promise<T>, options: LockOptions): Promise<T>;
  /** Hears about tokens written by others. Returns a function that stops listening. */
  subscribe?(listener: (stored: StoredTokens) => void): () => void;
  /** Releases connections and listeners. */
  close?(): void | Promise<void>;
}

/** A store that holds connections or listeners of its own: `close()` releases them (call it on shutdown). */
export interface ClosableTokenStore extends TokenStore {
  /** Releases the store's connections and listeners; a closed store fails every further call. */
  close(): Promise<void>;
}

/**
 * A store shared with other tabs or processes (`createRedisTokenStore`, `createBrowserTokenStore`,
 * `createFileTokenStore`): every call is asynchronous and bounded, and it announces other writers' tokens through
 * `subscribe`.
 */
export interface SharedTokenStore extends ClosableTokenStore {
  /**
   * {@inheritDoc TokenStore.read} Rejects with `STORE_FAILED` when the store fails, is slow or holds a malformed
   * record.
   */
  read(): Promise<StoredTokens>;
  /** {@inheritDoc TokenStore.write} Rejects with `STORE_FAILED` when the store fails or is slow. */
  write(tokens: TokenSet | null, expectedVersion: number, ended?: EndReason): Promise<StoredTokens | null>;
  /**
   * {@inheritDoc TokenStore.subscribe} Only well-formed records newer than any heard before reach `listener` (or, once
   * the backend went back to an older version, the record it went back to and those written after it).
   */
  subscribe(listener: (stored: StoredTokens) => void): () => void;
}

/**
 * The default store: tokens in memory, the lock a one-at-a-time `p-queue`. Nobody else shares it, so it has no
 * `subscribe`. Costs nothing on the request path.
 */
export class MemoryTokenStore implements TokenStore {
  #stored: StoredTokens = { tokens: null, version: 0 };
  readonly #lock = new PQueue({ concurrency: 1 });

  /** @param tokens - the tokens to start with (version 0). */
  constructor(tokens: TokenSet | null = null) {
    this.#stored = { tokens, version: 0 };
  }

  /** {@inheritDoc TokenStore.read} */
  read(): StoredTokens {
    return this.#stored;
  }

  /** {@inheritDoc TokenStore.write} */
  write(tokens: TokenSet | null, expectedVersion: number, ended?: EndReason): StoredTokens | null {
    if (this.#stored.version !== expectedVersion) return null;
    this.#stored = storedRecord(tokens, expectedVersion + 1, ended);
    return this.#stored;
  }

  /** {@inheritDoc TokenStore.withLock} */
  async withLock<T>(task: (context: LockContext) => Promise<T>, options?: LockOptions): Promise<T> {
    // Aborting only while queued: once the task runs, nobody can take a memory lock away, so its signal never fires.
    const waiting = new AbortController();
    const timer =
      options === undefined
        ? undefined
        : setTimeout(() => {
            waiting.abort(
              new TokenRefreshError(
                'REFRESH_TIMEOUT',
                `Waited ${options.waitMs} ms for the refresh lock: another refresh still holds it`,
              ),
            );
          }, options.waitMs);
    const signal = new AbortController().signal;
    return this.#lock.add(
      () => {
        clearTimeout(timer);
        return task({ signal });
      },
      { signal: waiting.signal },
    );
  }
}

/**
 * Checks a record read from a shared store (Redis, localStorage, IndexedDB, a file) or heard from another tab or
 * process, before anyone adopts it: an object (or its JSON text) with a safe integer `version` >= 0 and `tokens` that
 * are null or a valid {@link TokenSet} (strings where strings belong, `expiresAt` in epoch milliseconds). Returns the
 * problem as a sentence (never quoting a value: it may be a token), or the record.
 *
 * @param raw - the record, or its JSON text.
 */
export function parseStoredRecord(raw: unknown): { readonly record: StoredTokens } | { readonly problem: string } {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { problem: 'it is not JSON' };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'it is not an object' };
  const { version, tokens, ended } = value as { version?: unknown; tokens?: unknown; ended?: unknown };
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    return { problem: '`version` is not an integer >= 0' };
  }
  if (tokens !== null) {
    const problem = tokenSetProblem(tokens);
    if (problem !== undefined) return { problem: `its tokens are not a TokenSet: ${problem}` };
  }
  if (ended !== undefined && (tokens !== null || (ended !== 'expired' && ended !== 'logout'))) {
    return { problem: '`ended` is not `expired` or `logout` beside null tokens' };
  }
  return { record: storedRecord(tokens as TokenSet | null, version, ended) };
}

/**
 * A record as every store keeps it: `ended` only beside null tokens, and left out when there is none.
 *
 * @param tokens - the tokens.
 * @param version - their version.
 * @param ended - why there are none, if so.
 */
export function storedRecord(tokens: TokenSet | null, version: number, ended?: EndReason): StoredTokens {
  return tokens === null && ended !== undefined ? { tokens, version, ended } : { tokens, version };
}

/** Marks a `STORE_FAILED` error that means "the stored record is malformed" (the store itself works). */
const MALFORMED = Symbol.for('axios-token-refresh.malformedRecord');

/**
 * The error a shared store's `read()` rejects with when the record it holds is malformed: `STORE_FAILED`, marked so
 * that the session knows the store works and the next write (a login, or a refresh from the tokens it holds) may
 * replace the record.
 *
 * @param message - what was read and what is wrong with it; never the record's content.
 */
export function malformedRecord(message: string): TokenRefreshError {
  const error = new TokenRefreshError('STORE_FAILED', message);
  Object.defineProperty(error, MALFORMED, { value: true });
  return error;
}

/**
 * Whether `error` is a store's "the stored record is malformed" (see {@link malformedRecord}).
 *
 * @param error - anything a store threw.
 */
export function isMalformedRecord(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MALFORMED] === true;
}
