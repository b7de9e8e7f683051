/**
 * The plumbing every shared store (`./redis`, `./browser`, `./file`) is built from, written once: option checks and
 * defaults, the closed-store guard, listeners, waiters, lock polling and leases, the versions a store has met, and the
 * messages of the errors they all raise. Nothing here is part of what `attachRefresh` needs: it lives apart from
 * src/store.ts so that it never lands in that bundle.
 */
import { TokenRefreshError } from './errors.js';
import { scrubSecrets } from './redact.js';
import { callApp, emitWarning, warnCallbackError } from './report.js';
import { malformedRecord, storedRecord, type LockOptions, type StoredTokens } from './store.js';
import { checkObject, checkOptions, expected, isNumberFrom } from './validate.js';

/** How long a shared store waits for one answer from its backend before failing with `STORE_FAILED`. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 5000;

/** A `subscribe` listener. */
export type StoreListener = (stored: StoredTokens) => void;

/** A deep copy through JSON: exactly what another tab or process reads back. */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** 128 random bits in hex (Web Crypto: Node.js and browsers alike). */
export function randomId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Does nothing: for promises whose outcome nobody needs. */
export function noop(): void {}

/**
 * Checks the options a session passes to a shared store's `withLock` with the package's message template (a store
 * given bad options would otherwise hold a lock forever or never wait).
 *
 * @param options - what `withLock` received.
 */
export function checkLockOptions(options: LockOptions): void {
  checkObject(options);
  checkOptions(options, [
    ['leaseMs', 'a finite number >= 1', isNumberFrom(1), true],
    ['waitMs', 'a finite number >= 0', isNumberFrom(0), true],
  ]);
}

/** Throws the template's `TypeError` unless `version` can be a stored version (an integer >= 0). */
export function checkExpectedVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new TypeError(expected('expectedVersion', 'an integer >= 0', version));
  }
}

/**
 * The life of a shared store: open until `close()`, which fails every later call and aborts the calls still running
 * (lock tasks and their waiters, writes waiting for the write lock).
 */
export class StoreLife {
  /** Names the store in messages, e.g. ``the Redis token store for `key` ``. */
  readonly where: string;
  #closed = false;
  readonly #running = new Set<AbortController>();

  /** @param where - names the store in messages. */
  constructor(where: string) {
    this.where = where;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throws `STORE_FAILED` once the store is closed. */
  assertOpen(method: string): void {
    if (this.#closed) {
      throw new TokenRefreshError('STORE_FAILED', `Cannot call \`${method}()\`: ${this.where} was closed`);
    }
  }

  /** Runs `call` with a controller that `close()` aborts. */
  async abortable<T>(call: (controller: AbortController) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.#running.add(controller);
    try {
      return await call(controller);
    } finally {
      this.#running.delete(controller);
    }
  }

  /** Closes the store and aborts the running calls; false when it was closed already. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    const closed = new TokenRefreshError('STORE_FAILED', `${capitalize(this.where)} was closed`);
    for (const controller of this.#running) controller.abort(closed);
    return true;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The listeners of a store's `subscribe`. A listener that throws is reported through the package's callback-error
 * policy (see src/report.ts) and does not keep the others from hearing the record.
 */
export class Listeners {
  readonly #listeners = new Set<StoreListener>();
  readonly #where: string;

  /** @param where - names the store in reports, e.g. ``the Redis token store for `key` ``. */
  constructor(where: string) {
    this.#where = where;
  }

  /** How many listen. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Adds `listener` (the template's `TypeError` unless it is a function); returns the function that removes it. */
  add(listener: unknown): () => void {
    if (typeof listener !== 'function') throw new TypeError(expected('listener', 'a function', listener));
    const added = listener as StoreListener;
    this.#listeners.add(added);
    return () => {
      this.#listeners.delete(added);
    };
  }

  /**
   * Calls every listener with a record another writer made. What a listener throws, or its promise rejects with, is
   * reported without the record's tokens.
   */
  tell(stored: StoredTokens): void {
    const failed = (error: unknown) => {
      const { accessToken, refreshToken, idToken } = stored.tokens ?? {};
      warnCallbackError(`a subscriber of ${this.#where}`, scrubSecrets(error, [accessToken, refreshToken, idToken]));
    };
    for (const listener of [...this.#listeners]) callApp(listener, stored, failed);
  }

  /** Removes them all (the store closed). */
  clear(): void {
    this.#listeners.clear();
  }
}

/** Callers asleep until something they wait for happens (a lock released, a record arrived), or their time is up. */
export class Sleepers {
  readonly #wakers = new Set<() => void>();

  /** Resolves after `ms`, or sooner at {@link Sleepers.wakeAll}. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  /** Wakes every sleeper now. */
  wakeAll(): void {
    for (const wake of this.#wakers) wake();
  }
}

/**
 * A check of the backend run one at a time: asked for while one runs, it runs once more after it (however often it
 * was asked), until the store closes.
 */
export class OneAtATime {
  readonly #pass: () => Promise<void>;
  readonly #stopped: () => boolean;
  #running: Promise<void> | undefined;
  #again = false;

  /**
   * @param pass - one check; it reports its own failures.
   * @param stopped - whether the store closed: no pass starts after that.
   */
  constructor(pass: () => Promise<void>, stopped: () => boolean) {
    this.#pass = pass;
    this.#stopped = stopped;
  }

  /** The run in progress, if any (`close()` waits for it). */
  get running(): Promise<void> | undefined {
    return this.#running;
  }

  /** Starts a run, or asks the one in progress for another pass. */
  run(): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped());
    })().finally(() => {
      this.#running = undefined;
    });
  }
}

/**
 * The versions a store that hears other writers has met. `seen`: the highest it found in the backend or wrote, never
 * lowered (after the backend lost data, a write goes above it, so that everyone who heard the lost versions hears the
 * write). `heard`: the newest it wrote itself or passed to its listeners (what counts as news differs by store), and
 * what that record held: a record at the same version with other contents is news too (the backend lost its data and
 * a process that never saw our versions wrote a login there, starting again at 1).
 */
export class Versions {
  /** The highest version found in the backend or written; never lowered. */
  seen = 0;
  /** The newest version written by this store or passed to its listeners. */
  heard = 0;
  /** How many writes this store made: a read answered before one of them may be older than what it wrote. */
  writes = 0;
  #heardKey = recordKey(storedRecord(null, 0));

  /** Notes a version found in the backend. */
  found(version: number): void {
    this.seen = Math.max(this.seen, version);
  }

  /**
   * Notes a version found below `heard`, which means the backend went back (it lost data): `heard` follows it down,
   * so that what is written next is news again. Returns whether it went back.
   */
  wentBack(record: StoredTokens): boolean {
    if (record.version >= this.heard) return false;
    this.hear(record);
    return true;
  }

  /** Notes a record this store wrote. */
  wrote(record: StoredTokens): void {
    this.writes += 1;
    this.found(record.version);
    if (record.version < this.heard) return;
    this.heard = record.version;
    this.#heardKey = recordKey(record);
  }

  /** `record` is what the listeners hear now (its version may be lower than the last: the backend went back). */
  hear(record: StoredTokens): void {
    this.found(record.version);
    this.heard = record.version;
    this.#heardKey = recordKey(record);
  }

  /** Whether `record` is the one last heard (or written): the same version, and the same contents. */
  isHeard(record: StoredTokens): boolean {
    return record.version === this.heard && recordKey(record) === this.#heardKey;
  }
}

/** A record's version and contents, whatever order its tokens' members came in. */
function recordKey(record: StoredTokens): string {
  const { tokens } = record;
  const members = tokens === null ? null : Object.entries(tokens).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([record.version, record.ended ?? null, members]);
}

/** Lock polling: waits of 5 ms, doubling up to `maxMs`, each jittered to between half of it and all of it. */
export class Backoff {
  #ms = 5;
  readonly #maxMs: number;

  /** @param maxMs - the longest wait. */
  constructor(maxMs: number) {
    this.#maxMs = maxMs;
  }

  /** The next wait, in milliseconds, never more than `leftMs`. */
  next(leftMs: number): number {
    const jittered = this.#ms / 2 + Math.random() * (this.#ms / 2);
    this.#ms = Math.min(this.#ms * 2, this.#maxMs);
    return Math.min(jittered, leftMs);
  }
}

/** How long after taking a lease its holder must consider it lost: an allowance for clock drift and steps. */
export function safeLeaseMs(leaseMs: number): number {
  return Math.max(0, leaseMs - Math.ceil(leaseMs * 0.01) - 2);
}

/**
 * The error of a lock task whose lease ran out before it finished.
 *
 * @param lock - the lock, e.g. ``the refresh lock `key` in Redis``.
 */
export function leaseLost(lock: string, leaseMs: number): TokenRefreshError {
  return new TokenRefreshError(
    'REFRESH_TIMEOUT',
    `${capitalize(lock)} was lost: its lease of ${leaseMs} ms ran out before the task finished`,
  );
}

/**
 * The error of a lock not had in time: `REFRESH_TIMEOUT` for the refresh lock, `STORE_FAILED` for a store's own
 * write lock.
 *
 * @param lock - the lock, e.g. ``refresh lock `key` in Redis``.
 */
export function lockTimedOut(
  waitMs: number,
  lock: string,
  code: 'REFRESH_TIMEOUT' | 'STORE_FAILED' = 'REFRESH_TIMEOUT',
) {
  return new TokenRefreshError(code, `Timed out after ${waitMs} ms waiting for the ${lock}`);
}

/**
 * The error of a `read()` that found a malformed record (see {@link malformedRecord}).
 *
 * @param what - the read, e.g. ``Reading tokens from Redis key `key` ``.
 * @param problem - what {@link parseStoredRecord} found wrong; never the record's content.
 */
export function malformedAt(what: string, problem: string): TokenRefreshError {
  return malformedRecord(
    `${what} failed: the record there is malformed (${problem}); the next successful write replaces it`,
  );
}

/**
 * Reports an announcement from another tab or process that is not a token record: it was dropped, never passed on.
 *
 * @param channel - where it came from, e.g. ``the Redis channel `key` ``.
 */
export function reportDropped(
  onError: ((error: TokenRefreshError) => void) | undefined,
  channel: string,
  problem: string,
): void {
  const message = `Dropped an announcement on ${channel}: it is not a token record (${problem})`;
  reportStoreError(onError, new TokenRefreshError('STORE_FAILED', message));
}

/**
 * Reports a problem a shared store met outside of any call (a malformed announcement it dropped, a lock it could not
 * release): to the store's `onError` option when given, otherwise to the platform's warning channel, like the
 * package's callback-error policy (`process.emitWarning` in Node, `reportError` in a browser). Never throws.
 */
export function reportStoreError(
  onError: ((error: TokenRefreshError) => void) | undefined,
  error: TokenRefreshError,
): void {
  reportTo(onError, "a token store's `onError`", error);
}

/**
 * Passes `problem` to the user's `handler` when given, otherwise to the platform's warning channel; a handler that
 * throws (or rejects) is reported like any callback error. Never throws.
 *
 * @param name - names the handler in that report, e.g. ``a token store's `onError` ``.
 */
export function reportTo<E extends Error>(handler: ((problem: E) => void) | undefined, name: string, problem: E): void {
  if (handler === undefined) {
    emitWarning(problem);
    return;
  }
  callApp(handler, problem, (thrown) => warnCallbackError(name, thrown));
}
