import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { TokenRefreshError } from './errors.js';
import { FileLease, randomId, type LockRecord } from './file-lock.js';
import { emitWarning, WARNING_NAME, warnCallbackError } from './report.js';
import {
  checkLockOptions,
  malformedRecord,
  parseStoredRecord,
  storedRecord,
  type ClosableTokenStore,
  type EndReason,
  type LockContext,
  type LockOptions,
  type StoredTokens,
  type TokenStore,
} from './store.js';
import type { TokenSet } from './tokens.js';
import { checkObject, checkOptions, expected, isBoolean, isFunction, isNumberFrom, type Rule } from './validate.js';

/** Options of {@link createFileTokenStore}. */
export interface FileTokenStoreOptions {
  /**
   * The token file. Every process that uses the same path shares one login and refreshes once. Its directory is
   * created (mode 0700) when missing; the file is written with mode 0600, and so are the lock files beside it
   * (`<path>.lock`, `<path>.write-lock`). Relative paths are resolved against the working directory once, here.
   *
   * @example
   * ```ts
   * createFileTokenStore({ path: join(homedir(), '.config', 'my-cli', 'tokens.json') });
   * ```
   */
  readonly path: string;
  /**
   * Watch the directory with `fs.watch` to hear other processes' writes and lock releases at once. Turn it off where
   * `fs.watch` does not see other machines' changes (NFS, SMB): the store then polls (see `pollIntervalMs`).
   *
   * @default true
   */
  readonly watch?: boolean;
  /**
   * While someone subscribes, the file is also read every this many milliseconds, in case a change was not seen by
   * `fs.watch` (network filesystems, some container mounts). Must be a finite number >= 10.
   *
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /**
   * While the lock is taken, waiters look again after 5 ms, doubling up to this many milliseconds (a release seen by
   * `fs.watch` wakes them at once). Must be a finite number >= 1.
   *
   * @default 100
   */
  readonly maxLockPollIntervalMs?: number;
  /**
   * Hears warnings that need a person's attention but fail nothing: a token file readable by group or others, a token
   * directory that group or others may write (they could put their own tokens or locks there), a token file or
   * directory owned by another user.
   * Without it, they go to `process.emitWarning` (name `TokenRefreshWarning`), which Node prints to stderr.
   * A warning never contains a token.
   *
   * @default process.emitWarning
   */
  readonly onWarning?: (warning: Error) => void;
}

const DEFAULT_POLL_MS = 1000;
const DEFAULT_MAX_LOCK_POLL_MS = 100;
const FIRST_LOCK_POLL_MS = 5;
/** The write lock is held for one read-compare-write (milliseconds); a dead writer's frees itself after this. */
const WRITE_LEASE_MS = 10_000;
const WRITE_WAIT_MS = 15_000;
/** How often, at most, a lock holder compares its lease with the wall clock (milliseconds). */
const WALL_CHECK_MS = 250;
/** `<name>.<128 random bits in hex>.tmp`: the temporary files of token writes (lock files use `<name>.lock.…`). */
const TEMPORARY = /^\.[0-9a-f]{32}\.tmp$/;

const rules: readonly Rule[] = [
  ['path', 'a non-empty string', (value) => typeof value === 'string' && value !== '', true],
  ['watch', 'a boolean', isBoolean],
  ['pollIntervalMs', 'a finite number >= 10', isNumberFrom(10)],
  ['maxLockPollIntervalMs', 'a finite number >= 1', isNumberFrom(1)],
  ['onWarning', 'a function', isFunction],
];

/**
 * A {@link TokenStore} in a file, for processes on one machine that share one login: a CLI run in several terminals,
 * a CLI and its daemon, an app and its helpers. One refresh for all of them, even with refresh-token rotation.
 *
 * - Tokens: `{"version":n,"tokens":{…}}` in the file. A write goes to a temporary file in the same directory, is
 *   flushed (`fsync`), renamed over the file, and the directory is flushed: a crash leaves the old or the new record,
 *   never a torn one. Writes are a compare-and-set on the version, under a short write lock (`<path>.write-lock`).
 * - Lock: `<path>.lock`, a lease with an owner (pid and a random id) and an expiry. A holder killed mid-refresh frees
 *   it when its lease runs out, or at once when it ran on this machine (its pid is gone). Stale locks are taken over
 *   through a claim only one process can win, so two waiters never both hold it. When the lease runs out while the
 *   task is still running, the task's `signal` aborts.
 * - Other processes' writes arrive through `fs.watch` on the directory, with a poll every `pollIntervalMs` beside it.
 * - A file that is not a token record (corrupt, truncated, hand-edited) is never adopted: `read()` rejects with
 *   `STORE_FAILED`, and the next write of tokens (a login) replaces it.
 *
 * Node.js only (it imports `node:fs`). See docs/file-store.md for the design and what is known about Windows.
 *
 * @example
 * ```ts
 * import { homedir } from 'node:os';
 * import { join } from 'node:path';
 * import { attachRefresh } from 'axios-token-refresh';
 * import { createFileTokenStore } from 'axios-token-refresh/file';
 *
 * const store = createFileTokenStore({ path: join(homedir(), '.config', 'my-cli', 'tokens.json') });
 * attachRefresh(api, { store, refresh });
 * ```
 */
export function createFileTokenStore(options: FileTokenStoreOptions): ClosableTokenStore {
  checkObject(options);
  checkOptions(options, rules);
  return new FileTokenStore(options);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error';
}

/** An fs error's code only: its message is safe (a path) but the code says all a reader needs. */
function storeFailed(what: string, error: unknown): TokenRefreshError {
  return new TokenRefreshError('STORE_FAILED', `${what} failed (${errorCode(error)})`, { cause: error });
}

/** How long after taking the lock we must consider it lost: allowance for clock steps between processes. */
function safeLeaseMs(leaseMs: number): number {
  return Math.max(0, leaseMs - Math.ceil(leaseMs * 0.01) - 2);
}

class FileTokenStore implements TokenStore {
  readonly #path: string;
  readonly #directory: string;
  readonly #name: string;
  readonly #lock: FileLease;
  readonly #writeLock: FileLease;
  readonly #watch: boolean;
  readonly #pollMs: number;
  readonly #maxLockPollMs: number;
  readonly #onWarning: ((warning: Error) => void) | undefined;
  readonly #listeners = new Set<(stored: StoredTokens) => void>();
  /** Lock waiters, woken when the directory changes. */
  readonly #wakers = new Set<() => void>();
  /** Abort controllers of running lock tasks and waiters, aborted by `close()`. */
  readonly #active = new Set<AbortController>();
  /** The version this handle last wrote or passed to its listeners: listeners hear any other (lower too: a login after
   * the file was deleted starts again at 1; the session checks a lower one with a read). */
  #heard = 0;
  /** The highest version this handle ever found or wrote; never lowered. A write goes above it (see `write`). */
  #seen = 0;
  /** Lease checks of this handle's running lock tasks, run at each store call: see `#checkLeases`. */
  readonly #leases = new Set<() => void>();
  #directoryReady: Promise<void> | undefined;
  #modeChecked = false;
  #directoryChecked = false;
  #watcher: FSWatcher | undefined;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<void> | undefined;
  #checkAgain = false;
  #closed = false;

  constructor(options: FileTokenStoreOptions) {
    this.#path = resolve(options.path);
    this.#directory = dirname(this.#path);
    this.#name = basename(this.#path);
    this.#lock = new FileLease(`${this.#path}.lock`);
    this.#writeLock = new FileLease(`${this.#path}.write-lock`);
    this.#watch = options.watch ?? true;
    this.#pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
    this.#maxLockPollMs = options.maxLockPollIntervalMs ?? DEFAULT_MAX_LOCK_POLL_MS;
    this.#onWarning = options.onWarning;
  }

  async read(): Promise<StoredTokens> {
    this.#assertOpen('read');
    this.#checkLeases();
    const found = await this.#readRecord();
    if (found === undefined) return { tokens: null, version: 0 };
    if ('problem' in found) {
      throw malformedRecord(
        `The token file \`${this.#path}\` is not a token record (${found.problem}), so it was not used; the next ` +
          'login or refresh replaces it',
      );
    }
    this.#seen = Math.max(this.#seen, found.record.version);
    return found.record;
  }

  /**
   * A compare-and-set: a missing file is version 0. The record lands at `expectedVersion + 1`, or above every version
   * this handle ever saw when that is higher (the file was deleted or replaced by an older copy): every process that
   * heard those versions then hears the new one as news. A corrupt file is replaced whatever version was expected.
   */
  async write(tokens: TokenSet | null, expectedVersion: number, ended?: EndReason): Promise<StoredTokens | null> {
    this.#assertOpen('write');
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new TypeError(expected('expectedVersion', 'an integer >= 0', expectedVersion));
    }
    const checked = parseStoredRecord(
      JSON.parse(JSON.stringify(storedRecord(tokens, expectedVersion + 1, ended))) as unknown,
    );
    if ('problem' in checked) throw new TypeError(expected('tokens', 'null or a TokenSet', tokens));
    this.#checkLeases();
    await this.#ensureDirectory();
    const controller = new AbortController();
    this.#active.add(controller);
    try {
      const held = await this.#acquire(
        this.#writeLock,
        { leaseMs: WRITE_LEASE_MS, waitMs: WRITE_WAIT_MS },
        controller.signal,
      );
      const deadline = performance.now() + safeLeaseMs(WRITE_LEASE_MS);
      try {
        const found = await this.#readRecord();
        // A record that is not one (corrupt) is replaced by whichever write comes first: there is nothing to compare.
        const current = found === undefined ? 0 : 'record' in found ? found.record.version : expectedVersion;
        this.#seen = Math.max(this.#seen, current);
        // Whatever a writer killed mid-write left behind holds tokens; only the write lock's holder makes these files.
        await this.#removeTemporaries();
        if (current !== expectedVersion) return null;
        if (controller.signal.aborted) throw controller.signal.reason;
        if (performance.now() > deadline) {
          throw new TokenRefreshError(
            'STORE_FAILED',
            `Writing the token file \`${this.#path}\` took longer than its write lock`,
          );
        }
        const record = { ...checked.record, version: Math.max(expectedVersion, this.#seen) + 1 };
        try {
          await this.#writeWhole(JSON.stringify(record));
        } catch (error) {
          throw storeFailed(`Writing the token file \`${this.#path}\``, error);
        }
        this.#seen = Math.max(this.#seen, record.version);
        this.#heard = record.version;
        return record;
      } finally {
        this.#releaseQuietly(this.#writeLock, held);
      }
    } finally {
      this.#active.delete(controller);
    }
  }

  async withLock<T>(task: (context: LockContext) => Promise<T>, options: LockOptions): Promise<T> {
    this.#assertOpen('withLock');
    checkLockOptions(options);
    await this.#ensureDirectory();
    const controller = new AbortController();
    this.#active.add(controller);
    try {
      const held = await this.#acquire(this.#lock, options, controller.signal);
      const safeMs = safeLeaseMs(options.leaseMs);
      const lost = (): void => {
        if (!controller.signal.aborted) controller.abort(this.#leaseLost(options.leaseMs));
      };
      // The lease started when the lock file was written: `expiresAt - leaseMs`.
      const timer = setTimeout(lost, Math.max(0, safeMs - (Date.now() - (held.expiresAt - options.leaseMs))));
      // Waiters on other machines judge the lease by their wall clocks: when ours steps past its end, we stop too.
      const wallEnd = held.expiresAt - (options.leaseMs - safeMs);
      const checkWall = (): void => {
        if (Date.now() >= wallEnd) lost();
      };
      const wallTimer = setInterval(checkWall, Math.min(WALL_CHECK_MS, Math.max(1, options.leaseMs / 10)));
      wallTimer.unref?.();
      this.#leases.add(checkWall);
      try {
        return await task({ signal: controller.signal });
      } finally {
        clearTimeout(timer);
        clearInterval(wallTimer);
        this.#leases.delete(checkWall);
        this.#releaseQuietly(this.#lock, held);
      }
    } finally {
      this.#active.delete(controller);
    }
  }

  subscribe(listener: (stored: StoredTokens) => void): () => void {
    this.#assertOpen('subscribe');
    if (typeof listener !== 'function') throw new TypeError(expected('listener', 'a function', listener));
    this.#listeners.add(listener);
    this.#startWatching();
    if (this.#pollTimer === undefined) {
      this.#pollTimer = setInterval(() => this.#check(), this.#pollMs);
      this.#pollTimer.unref?.();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        clearInterval(this.#pollTimer);
        this.#pollTimer = undefined;
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new TokenRefreshError('STORE_FAILED', `The file token store for \`${this.#path}\` was closed`);
    for (const controller of this.#active) controller.abort(closed);
    for (const wake of this.#wakers) wake();
    this.#listeners.clear();
    clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#checking;
  }

  #assertOpen(method: string): void {
    if (this.#closed) {
      throw new TokenRefreshError(
        'STORE_FAILED',
        `Cannot call \`${method}()\`: the file token store for \`${this.#path}\` was closed`,
      );
    }
  }

  #leaseLost(leaseMs: number): TokenRefreshError {
    return new TokenRefreshError(
      'REFRESH_TIMEOUT',
      `The refresh lock \`${this.#lock.path}\` was lost: its lease of ${leaseMs} ms ran out before the task finished`,
    );
  }

  /** Runs the lease checks of this handle's lock tasks: a store call is where a holder acts on its lease. */
  #checkLeases(): void {
    for (const check of this.#leases) check();
  }

  #ensureDirectory(): Promise<void> {
    this.#directoryReady ??= mkdir(this.#directory, { recursive: true, mode: 0o700 }).then(
      () => this.#checkDirectory(),
      (error: unknown) => {
        this.#directoryReady = undefined;
        throw storeFailed(`Creating the directory \`${this.#directory}\``, error);
      },
    );
    return this.#directoryReady;
  }

  /** Takes `lease` or throws: REFRESH_TIMEOUT after `waitMs`, the abort reason when closed. */
  async #acquire(lease: FileLease, options: LockOptions, signal: AbortSignal): Promise<LockRecord> {
    const deadline = performance.now() + options.waitMs;
    let pollMs = FIRST_LOCK_POLL_MS;
    for (;;) {
      let held: LockRecord | undefined;
      try {
        held = lease.tryAcquire(options.leaseMs);
      } catch (error) {
        throw storeFailed(`Taking the lock \`${lease.path}\``, error);
      }
      if (held !== undefined) {
        if (!signal.aborted) return held;
        this.#releaseQuietly(lease, held);
      }
      if (signal.aborted) throw signal.reason;
      const left = deadline - performance.now();
      if (left <= 0) {
        const message = `Timed out after ${options.waitMs} ms waiting for the lock \`${lease.path}\``;
        throw lease === this.#lock
          ? new TokenRefreshError('REFRESH_TIMEOUT', message)
          : new TokenRefreshError('STORE_FAILED', message);
      }
      this.#startWatching();
      await this.#sleepUntilChanged(Math.min(pollMs / 2 + Math.random() * (pollMs / 2), left));
      pollMs = Math.min(pollMs * 2, this.#maxLockPollMs);
    }
  }

  #releaseQuietly(lease: FileLease, held: LockRecord): void {
    try {
      lease.release(held);
    } catch {
      // The lease frees the lock anyway; failing the finished task over the release would hide its result.
    }
  }

  #sleepUntilChanged(ms: number): Promise<void> {
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

  /** Reads and checks the file: undefined when there is none. */
  async #readRecord(): Promise<{ readonly record: StoredTokens } | { readonly problem: string } | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw storeFailed(`Reading the token file \`${this.#path}\``, error);
    }
    await this.#checkMode();
    return parseStoredRecord(text);
  }

  /** Reports, once per store, a token file that group or others may read, or that another user owns. */
  async #checkMode(): Promise<void> {
    if (this.#modeChecked || process.platform === 'win32') return;
    this.#modeChecked = true;
    let found: { readonly mode: number; readonly uid: number };
    try {
      found = await stat(this.#path);
    } catch {
      return;
    }
    const mode = found.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      this.#warn(
        `the token file \`${this.#path}\` has mode 0${mode.toString(8)}: other users may read the tokens. Run ` +
          '`chmod 600` on it; the next write replaces it with a file of mode 0600.',
      );
    }
    if (found.uid !== process.getuid?.()) {
      this.#warn(
        `the token file \`${this.#path}\` belongs to user ${found.uid}, not to this process's user: whoever owns it ` +
          'chooses the tokens this process sends. Remove it and log in again.',
      );
    }
  }

  /**
   * Reports, once per store, a token directory that group or others may write (sticky or not: anyone there can create
   * the token file while it is missing, or hold its lock), or that another user owns.
   */
  async #checkDirectory(): Promise<void> {
    if (this.#directoryChecked || process.platform === 'win32') return;
    this.#directoryChecked = true;
    let found: { readonly mode: number; readonly uid: number };
    try {
      found = await stat(this.#directory);
    } catch {
      return;
    }
    const mode = found.mode & 0o7777;
    if ((mode & 0o022) !== 0) {
      this.#warn(
        `the token directory \`${this.#directory}\` has mode 0${mode.toString(8)}: other users may write there and put ` +
          'their own tokens or lock files in place of yours. Run `chmod 700` on it, or keep the tokens in a directory of ' +
          'your own.',
      );
    }
    if (found.uid !== process.getuid?.()) {
      this.#warn(
        `the token directory \`${this.#directory}\` belongs to user ${found.uid}, not to this process's user: its ` +
          'owner can replace the token file. Keep the tokens in a directory of your own.',
      );
    }
  }

  #warn(message: string): void {
    const warning = new Error(`axios-token-refresh: ${message}`);
    warning.name = WARNING_NAME;
    if (this.#onWarning === undefined) {
      emitWarning(warning);
      return;
    }
    try {
      this.#onWarning(warning);
    } catch (error) {
      warnCallbackError('the file token store `onWarning` callback', error);
    }
  }

  /**
   * Removes the temporary files of earlier token writes (called under the write lock): a writer killed between
   * creating its temporary file and the rename leaves a copy of the tokens behind. A writer that still runs but lost
   * its write lock then fails its rename, as it should.
   */
  async #removeTemporaries(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#directory);
    } catch {
      return;
    }
    const prefix = this.#name;
    await Promise.all(
      names
        .filter((name) => name.startsWith(prefix) && TEMPORARY.test(name.slice(prefix.length)))
        .map((name) => unlink(resolve(this.#directory, name)).catch(() => undefined)),
    );
  }

  /** Temporary file in the same directory, fsync, rename over the file, fsync the directory. */
  async #writeWhole(text: string): Promise<void> {
    const temporary = `${this.#path}.${randomId()}.tmp`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.#path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await this.#syncDirectory();
  }

  /** Makes the rename itself durable. Windows cannot open a directory for this; NTFS journals the rename. */
  async #syncDirectory(): Promise<void> {
    if (process.platform === 'win32') return;
    const handle = await open(this.#directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  #startWatching(): void {
    if (!this.#watch || this.#watcher !== undefined || this.#closed) return;
    try {
      const lockNames = new Set([basename(this.#lock.path), basename(this.#writeLock.path)]);
      this.#watcher = watch(this.#directory, { persistent: false }, (_event, filename) => {
        // Only the lock files themselves: waking on every temporary file would have waiters wake one another forever.
        if (filename === null || lockNames.has(filename)) for (const wake of this.#wakers) wake();
        if (filename === null || filename === this.#name) this.#check();
      });
      this.#watcher.on('error', () => {
        // The directory went away or the platform gave up watching: the poll carries on.
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      // No fs.watch here (or the directory does not exist yet): polling covers it.
      this.#watcher = undefined;
    }
  }

  /** Reads the file and tells listeners about another version; one read at a time, coalescing requests. */
  #check(): void {
    if (this.#listeners.size === 0 || this.#closed) return;
    if (this.#checking !== undefined) {
      this.#checkAgain = true;
      return;
    }
    this.#checking = (async () => {
      do {
        this.#checkAgain = false;
        const found = await this.#readRecord().catch(() => undefined);
        // No file is no news (a deleted file is refilled by the next refresh or login); any other version is.
        if (found === undefined || !('record' in found) || found.record.version === this.#heard) continue;
        this.#heard = found.record.version;
        this.#seen = Math.max(this.#seen, found.record.version);
        for (const listener of [...this.#listeners]) {
          try {
            listener(found.record);
          } catch (error) {
            warnCallbackError('a file token store subscriber', error);
          }
        }
      } while (this.#checkAgain && !this.#closed);
    })().finally(() => {
      this.#checking = undefined;
    });
  }
}
