import { constants, readlinkSync, realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { TokenRefreshError } from './errors.js';
import { CLAIM_STALE_MS, errorCode, FileLease, LEASE_NAME_SUFFIX_BYTES, type LockRecord } from './file-lock.js';
import { WARNING_NAME } from './report.js';
import {
  Backoff,
  checkExpectedVersion,
  checkLockOptions,
  jsonCopy,
  leaseLost,
  Listeners,
  lockTimedOut,
  OneAtATime,
  randomId,
  reportTo,
  safeLeaseMs,
  Sleepers,
  StoreLife,
  type StoreListener,
  Versions,
} from './shared-store.js';
import {
  malformedRecord,
  parseStoredRecord,
  storedRecord,
  type SharedTokenStore,
  type EndReason,
  type LockContext,
  type LockOptions,
  type StoredTokens,
  type TokenStore,
} from './store.js';
import type { TokenSet } from './tokens.js';
import {
  checkObject,
  checkOptions,
  expected,
  isBoolean,
  isFunction,
  isNumberFrom,
  type Rule,
  isNonEmptyString,
  withDefaults,
} from './validate.js';

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

const DEFAULTS = { watch: true, pollIntervalMs: 1000, maxLockPollIntervalMs: 100 };
/** The write lock is held for one read-compare-write (milliseconds); a dead writer's frees itself after this. */
const WRITE_LEASE_MS = 10_000;
const WRITE_WAIT_MS = 15_000;
/** How often, at most, a lock holder compares its lease with the wall clock (milliseconds). */
const WALL_CHECK_MS = 250;
/** `<name>.<128 random bits in hex>.tmp`: the temporary files of token writes (lock files use `<name>.lock.…`). */
const TEMPORARY = /^\.[0-9a-f]{32}\.tmp$/;
/**
 * `<name>.lock.<12 hex>.tmp`, `<name>.write-lock.<owner>.claim<k>.<12 hex>.tmp`…: a lock record on its way to its
 * name. It lives for a system call or two, so one older than {@link CLAIM_STALE_MS} was left by a process killed in
 * between. It holds no token.
 */
const LOCK_TEMPORARY = /^\.(?:write-)?lock(?:\.[0-9a-f]{32}\.claim\d+)?\.[0-9a-f]{12}\.tmp$/;
/** The longest name the store makes beside the file: the write lock's claim's temporary file (see file-lock.ts). */
const WRITE_LOCK_SUFFIX = '.write-lock';
/** NAME_MAX of Linux, macOS and Windows filesystems, in bytes (UTF-8 on Linux and macOS). */
const NAME_MAX = 255;
/** The longest token file name, in UTF-8 bytes, that leaves room for every name the store appends to it. */
const MAX_NAME_BYTES = NAME_MAX - WRITE_LOCK_SUFFIX.length - LEASE_NAME_SUFFIX_BYTES;
/** A token record is a few kilobytes: a larger file is not one, and is never read whole. */
const MAX_FILE_BYTES = 1024 * 1024;
/**
 * Room made before a refresh beyond twice the token file's size: the refresh lock, its release's claim, the write lock
 * and the temporary file each take a block of their own (4 KiB on most filesystems).
 */
const RESERVE_BYTES = 16_384;
/** Opens without waiting for a FIFO's writer (where the platform has the flag); the type is checked before reading. */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
/** How long `close()` waits, at most, for a read of the poll in flight (a stalled filesystem must not hold it). */
const CLOSE_WAIT_MS = 500;
/** What to do about an fs error, by its code: said in the store's error messages. */
const FIXES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied: owned by another user? Run as the same user, or remove it',
  EPERM: 'operation not permitted: owned by another user? Run as the same user, or remove it',
  EISDIR: 'a directory is in the way: remove it',
  ENOTDIR: 'a part of the path is a file, not a directory: remove it or choose another path',
  EROFS: 'a read-only filesystem: choose a path on a writable one',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ENAMETOOLONG: 'a name is too long: choose a shorter path',
};

/** Why creating the token file's directory can fail with ENOENT. */
const DANGLING =
  'a symbolic link on the path points to something that no longer exists: create its target, or remove the link';

const rules: readonly Rule[] = [
  ['path', 'a non-empty string', isNonEmptyString, true],
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
export function createFileTokenStore(options: FileTokenStoreOptions): SharedTokenStore {
  checkObject(options);
  const checked = checkOptions(options, rules);
  const given = resolve(checked.path);
  const path = followLinks(given);
  checkNameLength(path);
  return new FileTokenStore({ ...withDefaults(DEFAULTS, { ...checked, path }), followed: path !== given });
}

/**
 * The file a token path names, through symbolic links (dotfiles linked by GNU stow or chezmoi): writes replace the
 * file, never the link, and a process that names the link locks the same `<file>.lock` as one that names the file.
 * Resolved once, at creation. A link to a file that does not exist yet is followed to where that file will be; a
 * link to anything but a regular file (a directory, a device) is not followed, so that messages name the link.
 */
function followLinks(path: string): string {
  let target = path;
  for (let hops = 0; hops < 40; hops += 1) {
    try {
      const real = realpathSync(target);
      return statSync(real).isFile() ? real : path;
    } catch {
      // Missing (or a link to something missing): follow the link, if it is one, by hand.
    }
    try {
      target = resolve(dirname(target), readlinkSync(target));
    } catch {
      return target;
    }
  }
  return path;
}

/**
 * Refuses a token file name too long for the names the store makes beside it (the longest, the temporary file of the
 * write lock's claim, is 68 bytes longer): with such a name a lock could be taken once, and never released.
 */
function checkNameLength(path: string): void {
  const name = basename(path);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes <= MAX_NAME_BYTES) return;
  throw new TypeError(
    `Expected \`path\` to end in a file name of at most ${MAX_NAME_BYTES} bytes (UTF-8), got one of ${bytes} bytes ` +
      `(\`${path}\`): the store names its lock files \`<name>${WRITE_LOCK_SUFFIX}.<owner>.claim<k>.<random>.tmp\`, ` +
      `${NAME_MAX - MAX_NAME_BYTES} bytes longer, and a file name is limited to ${NAME_MAX} bytes. Choose a shorter ` +
      'file name.',
  );
}

/** An fs error's code only (its message is safe, a path, but the code says all a reader needs), and what to do. */
function storeFailed(what: string, error: unknown, fix?: string): TokenRefreshError {
  if (error instanceof TokenRefreshError) return error;
  const code = errorCode(error) ?? (error instanceof Error ? error.name : 'unknown error');
  fix ??= FIXES[code];
  return new TokenRefreshError('STORE_FAILED', `${what} failed (${code}${fix ? `: ${fix}` : ''})`, { cause: error });
}

/** The text in `handle`, at most `limit` bytes: undefined when the file holds more. */
async function readAtMost(handle: FileHandle, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length <= limit) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, limit + 1 - length));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    length += bytesRead;
  }
  return length > limit ? undefined : Buffer.concat(chunks, length).toString('utf8');
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
  readonly #life: StoreLife;
  readonly #listeners: Listeners;
  /** Lock waiters, woken when the directory changes. */
  readonly #waiters = new Sleepers();
  /**
   * `heard`: listeners hear any other record than it (a lower version too, or other contents at the same version: a
   * login after the file was deleted starts again at 1; the session checks such a record with a read).
   */
  readonly #versions = new Versions();
  /** Lease checks of this handle's running lock tasks, run at each store call: see `#checkLeases`. */
  readonly #leases = new Set<() => void>();
  #directoryReady: Promise<void> | undefined;
  /** `path` was a symbolic link: the directory it points into is never created (a drive not mounted, say). */
  readonly #followed: boolean;
  #modeChecked = false;
  #directoryChecked = false;
  #watcher: FSWatcher | undefined;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  /** Reads the file for the listeners, one read at a time. */
  readonly #checker = new OneAtATime(
    () => this.#checkOnce(),
    () => this.#life.closed,
  );

  constructor(options: FileTokenStoreOptions & typeof DEFAULTS & { readonly followed: boolean }) {
    this.#path = resolve(options.path);
    this.#followed = options.followed;
    this.#directory = dirname(this.#path);
    this.#name = basename(this.#path);
    this.#lock = new FileLease(`${this.#path}.lock`);
    this.#writeLock = new FileLease(`${this.#path}.write-lock`);
    this.#watch = options.watch;
    this.#pollMs = options.pollIntervalMs;
    this.#maxLockPollMs = options.maxLockPollIntervalMs;
    this.#onWarning = options.onWarning;
    this.#life = new StoreLife(`the file token store for \`${this.#path}\``);
    this.#listeners = new Listeners(this.#life.where);
  }

  async read(): Promise<StoredTokens> {
    this.#life.assertOpen('read');
    this.#checkLeases();
    const found = await this.#readRecord();
    if (found === undefined) return { tokens: null, version: 0 };
    if ('problem' in found) {
      throw malformedRecord(
        `The token file \`${this.#path}\` is not a token record (${found.problem}), so it was not used; the next ` +
          'login or refresh replaces it',
      );
    }
    this.#versions.found(found.record.version);
    return found.record;
  }

  /**
   * A compare-and-set: a missing file is version 0. The record lands at `expectedVersion + 1`, or above every version
   * this handle ever saw when that is higher (the file was deleted or replaced by an older copy): every process that
   * heard those versions then hears the new one as news. A corrupt file is replaced whatever version was expected.
   */
  async write(tokens: TokenSet | null, expectedVersion: number, ended?: EndReason): Promise<StoredTokens | null> {
    this.#life.assertOpen('write');
    checkExpectedVersion(expectedVersion);
    const checked = parseStoredRecord(jsonCopy(storedRecord(tokens, expectedVersion + 1, ended)));
    if ('problem' in checked) throw new TypeError(expected('tokens', 'null or a TokenSet', tokens));
    this.#checkLeases();
    return this.#life.abortable(async (controller) => {
      await this.#ensureDirectory();
      controller.signal.throwIfAborted();
      const writeLease = { leaseMs: WRITE_LEASE_MS, waitMs: WRITE_WAIT_MS };
      const held = await this.#acquire(this.#writeLock, writeLease, controller.signal);
      try {
        const deadline = performance.now() + safeLeaseMs(WRITE_LEASE_MS);
        return await this.#compareAndSet(checked.record, expectedVersion, controller.signal, deadline);
      } finally {
        this.#releaseQuietly(this.#writeLock, held);
      }
    });
  }

  /** The write's read-compare-write, under the write lock, which must not run out before `deadline`. */
  async #compareAndSet(
    record: StoredTokens,
    expectedVersion: number,
    signal: AbortSignal,
    deadline: number,
  ): Promise<StoredTokens | null> {
    const found = await this.#readRecord();
    // A record that is not one (corrupt) is replaced by whichever write comes first: there is nothing to compare.
    const current = found === undefined ? 0 : 'record' in found ? found.record.version : expectedVersion;
    this.#versions.found(current);
    // Whatever a writer killed mid-write left behind holds tokens; only the write lock's holder makes these files.
    await this.#removeTemporaries();
    if (current !== expectedVersion) return null;
    if (signal.aborted) throw signal.reason;
    if (performance.now() > deadline) {
      throw new TokenRefreshError(
        'STORE_FAILED',
        `Writing the token file \`${this.#path}\` took longer than its write lock`,
      );
    }
    const written = { ...record, version: Math.max(expectedVersion, this.#versions.seen) + 1 };
    try {
      await this.#writeWhole(JSON.stringify(written));
    } catch (error) {
      throw storeFailed(`Writing the token file \`${this.#path}\``, error);
    }
    this.#versions.wrote(written);
    return written;
  }

  async withLock<T>(task: (context: LockContext) => Promise<T>, options: LockOptions): Promise<T> {
    this.#life.assertOpen('withLock');
    checkLockOptions(options);
    // Abortable from the first await: a close() during the checks below ends the call too.
    return this.#life.abortable(async (controller) => {
      await this.#ensureDirectory();
      // Before the lock, whose release on a full disk would need room as well.
      await this.#reserveSpace();
      controller.signal.throwIfAborted();
      const held = await this.#acquire(this.#lock, options, controller.signal);
      const stopWatching = this.#watchLease(held, options.leaseMs, controller);
      try {
        return await task({ signal: controller.signal });
      } finally {
        stopWatching();
        this.#releaseQuietly(this.#lock, held);
      }
    });
  }

  /**
   * Makes sure the write a refresh ends with fits before the refresh spends the refresh token: on a full disk the new
   * tokens could not be written, and the next process (or run) would present the spent one. A file the size of that
   * write and its locks is made and removed, before the lock is taken; a failure (ENOSPC, EDQUOT) fails `withLock`
   * with `STORE_FAILED`. A check, not a guarantee: another program may fill the disk after it.
   */
  async #reserveSpace(): Promise<void> {
    const size = (await stat(this.#path).catch(() => undefined))?.size ?? 0;
    // Named like a token write's temporary file: one left by a killed process is removed by the next write.
    const temporary = `${this.#path}.${randomId()}.tmp`;
    let handle: FileHandle | undefined;
    try {
      handle = await this.#createTemporary(temporary);
      // writeFile, not write: a write may stop short of a full disk without an error; writeFile goes on to ENOSPC.
      await handle.writeFile(Buffer.alloc(Math.min(2 * size, 2 * MAX_FILE_BYTES) + RESERVE_BYTES));
    } catch (error) {
      throw storeFailed(`Making room for new tokens beside \`${this.#path}\``, error);
    } finally {
      await handle?.close().catch(() => undefined);
      await unlink(temporary).catch(() => undefined);
    }
  }

  /**
   * Aborts `controller` when the lease of `held` runs out, by this process's timer or by the wall clock (waiters on
   * other machines judge the lease by theirs: when ours steps past its end, we stop too). Returns what stops watching.
   */
  #watchLease(held: LockRecord, leaseMs: number, controller: AbortController): () => void {
    const safeMs = safeLeaseMs(leaseMs);
    const lost = (): void => {
      if (!controller.signal.aborted) controller.abort(leaseLost(`the refresh lock \`${this.#lock.path}\``, leaseMs));
    };
    // The lease started when the lock file was written: `expiresAt - leaseMs`.
    const timer = setTimeout(lost, Math.max(0, safeMs - (Date.now() - (held.expiresAt - leaseMs))));
    const wallEnd = held.expiresAt - (leaseMs - safeMs);
    const checkWall = (): void => {
      if (Date.now() >= wallEnd) lost();
    };
    const wallTimer = setInterval(checkWall, Math.min(WALL_CHECK_MS, Math.max(1, leaseMs / 10)));
    wallTimer.unref?.();
    this.#leases.add(checkWall);
    return () => {
      clearTimeout(timer);
      clearInterval(wallTimer);
      this.#leases.delete(checkWall);
    };
  }

  subscribe(listener: StoreListener): () => void {
    this.#life.assertOpen('subscribe');
    const unsubscribe = this.#listeners.add(listener);
    this.#startWatching();
    if (this.#pollTimer === undefined) {
      this.#pollTimer = setInterval(() => this.#check(), this.#pollMs);
      this.#pollTimer.unref?.();
    }
    return () => {
      unsubscribe();
      if (this.#listeners.size === 0) {
        clearInterval(this.#pollTimer);
        this.#pollTimer = undefined;
      }
    };
  }

  async close(): Promise<void> {
    if (!this.#life.close()) return;
    this.#waiters.wakeAll();
    this.#listeners.clear();
    clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    const running = this.#checker.running;
    if (running === undefined) return;
    // A read stuck in the filesystem (a stalled network mount) must not hold close(): its outcome is ignored anyway.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((done) => {
      timer = setTimeout(done, CLOSE_WAIT_MS);
      timer.unref?.();
    });
    await Promise.race([running, waited]);
    clearTimeout(timer);
  }

  /** Runs the lease checks of this handle's lock tasks: a store call is where a holder acts on its lease. */
  #checkLeases(): void {
    for (const check of this.#leases) check();
  }

  #ensureDirectory(): Promise<void> {
    // Through a followed link the directory must be there already: never made where the link points.
    const make = () =>
      this.#followed ? stat(this.#directory) : mkdir(this.#directory, { recursive: true, mode: 0o700 });
    this.#directoryReady ??= make().then(
      () => this.#checkDirectory(),
      (error: unknown) => {
        this.#directoryReady = undefined;
        // mkdir only meets ENOENT on a path that exists in part: a symbolic link whose target is gone.
        const dangling = errorCode(error) === 'ENOENT' ? DANGLING : undefined;
        throw storeFailed(`Creating the directory \`${this.#directory}\``, error, dangling);
      },
    );
    return this.#directoryReady;
  }

  /**
   * Creates the directory again after it was removed (`rm -rf` of the app's folder while it runs): the cached success
   * is forgotten, the new directory is checked like the first, and the watcher (on the removed one) is replaced.
   */
  async #recreateDirectory(): Promise<void> {
    this.#directoryReady = undefined;
    this.#directoryChecked = false;
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#ensureDirectory();
    if (this.#listeners.size > 0) this.#startWatching();
  }

  /**
   * Takes `lease` or throws: REFRESH_TIMEOUT after `waitMs` (STORE_FAILED for the write lock), the abort reason when
   * closed.
   */
  async #acquire(lease: FileLease, options: LockOptions, signal: AbortSignal): Promise<LockRecord> {
    const deadline = performance.now() + options.waitMs;
    const backoff = new Backoff(this.#maxLockPollMs);
    let recreated = false;
    for (;;) {
      let held: LockRecord | undefined;
      try {
        held = lease.tryAcquire(options.leaseMs);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT' || recreated) throw storeFailed(`Taking the lock \`${lease.path}\``, error);
        // The directory was removed since it was made: make it again, once.
        recreated = true;
        await this.#recreateDirectory();
        continue;
      }
      if (held !== undefined) {
        if (!signal.aborted) return held;
        this.#releaseQuietly(lease, held);
      }
      if (signal.aborted) throw signal.reason;
      const left = deadline - performance.now();
      if (left <= 0) {
        const code = lease === this.#lock ? 'REFRESH_TIMEOUT' : 'STORE_FAILED';
        throw lockTimedOut(options.waitMs, `lock \`${lease.path}\``, code);
      }
      this.#startWatching();
      await this.#waiters.sleep(backoff.next(left));
    }
  }

  #releaseQuietly(lease: FileLease, held: LockRecord): void {
    try {
      lease.release(held);
    } catch {
      // The lease frees the lock anyway; failing the finished task over the release would hide its result.
    }
  }

  /**
   * Reads and checks the file: undefined when there is none. Anything but a regular file (a FIFO, a device, a
   * directory) is refused unread: reading one could wait for ever, or never end.
   */
  async #readRecord(): Promise<{ readonly record: StoredTokens } | { readonly problem: string } | undefined> {
    let text: string | undefined;
    try {
      const handle = await open(this.#path, READ_FLAGS);
      try {
        if (!(await handle.stat()).isFile()) {
          throw new TokenRefreshError('STORE_FAILED', `\`${this.#path}\` is not a regular file; remove it`);
        }
        text = await readAtMost(handle, MAX_FILE_BYTES);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw storeFailed(`Reading the token file \`${this.#path}\``, error);
    }
    await this.#checkMode();
    return text === undefined ? { problem: `larger than ${MAX_FILE_BYTES} bytes` } : parseStoredRecord(text);
  }

  /** Reports, once per store, a token file that group or others may read, or that another user owns. */
  async #checkMode(): Promise<void> {
    if (this.#modeChecked) return;
    this.#modeChecked = true;
    const found = await modeAndOwner(this.#path);
    if (found === undefined) return;
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
    if (this.#directoryChecked) return;
    this.#directoryChecked = true;
    const found = await modeAndOwner(this.#directory);
    if (found === undefined) return;
    const mode = found.mode & 0o7777;
    if ((mode & 0o022) !== 0) {
      this.#warn(
        `the token directory \`${this.#directory}\` has mode 0${mode.toString(8)}: ` +
          'other users may write there and put their own tokens or lock files in place of yours. ' +
          'Run `chmod 700` on it, or keep the tokens in a directory of your own.',
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
    reportTo(this.#onWarning, 'the file token store `onWarning` callback', warning);
  }

  /**
   * Removes the temporary files of earlier token writes (called under the write lock): a writer killed between
   * creating its temporary file and the rename leaves a copy of the tokens behind. A writer that still runs but lost
   * its write lock then fails its rename, as it should. Lock records' temporary files are removed too once they are
   * old: any process may be making one at any time, under no lock.
   */
  async #removeTemporaries(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#directory);
    } catch {
      return;
    }
    const prefix = this.#name;
    const remove = (name: string) => unlink(resolve(this.#directory, name)).catch(() => undefined);
    const removeIfOld = async (name: string) => {
      const found = await stat(resolve(this.#directory, name)).catch(() => undefined);
      if (found !== undefined && Date.now() - found.mtimeMs > CLAIM_STALE_MS) await remove(name);
    };
    await Promise.all(
      names
        .filter((name) => name.startsWith(prefix))
        .map((name) => {
          const rest = name.slice(prefix.length);
          return TEMPORARY.test(rest) ? remove(name) : LOCK_TEMPORARY.test(rest) ? removeIfOld(name) : undefined;
        }),
    );
  }

  /** Temporary file in the same directory, fsync, rename over the file, fsync the directory. */
  async #writeWhole(text: string): Promise<void> {
    const temporary = `${this.#path}.${randomId()}.tmp`;
    const handle = await this.#createTemporary(temporary);
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

  /** Creates `temporary` (mode 0600, new), making the directory again, once, when it was removed. */
  async #createTemporary(temporary: string): Promise<FileHandle> {
    try {
      return await open(temporary, 'wx', 0o600);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    await this.#recreateDirectory();
    return open(temporary, 'wx', 0o600);
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
    if (!this.#watch || this.#watcher !== undefined || this.#life.closed) return;
    try {
      const lockNames = new Set([basename(this.#lock.path), basename(this.#writeLock.path)]);
      this.#watcher = watch(this.#directory, { persistent: false }, (_event, filename) => {
        // Only the lock files themselves: waking on every temporary file would have waiters wake one another forever.
        if (filename === null || lockNames.has(filename)) this.#waiters.wakeAll();
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
    if (this.#listeners.size === 0 || this.#life.closed) return;
    this.#checker.run();
  }

  async #checkOnce(): Promise<void> {
    const writes = this.#versions.writes;
    const found = await this.#readRecord().catch(() => undefined);
    // A write of ours landed while we read: what we read may be older than it. Announcing it would set `heard` back,
    // and a record written later at that version (a login after the file was deleted) would then not be news.
    if (writes !== this.#versions.writes) return this.#check();
    // No file is no news (a deleted file is refilled by the next refresh or login); any other record is, also one at
    // the version heard (a login after the file was deleted, made by a process that never saw our versions).
    if (found === undefined || !('record' in found) || this.#versions.isHeard(found.record)) return;
    this.#versions.hear(found.record);
    this.#listeners.tell(found.record);
  }
}

/** The mode and owner of `path`, where they mean something (not on Windows) and it can be had. */
async function modeAndOwner(path: string): Promise<{ readonly mode: number; readonly uid: number } | undefined> {
  if (process.platform === 'win32') return undefined;
  return stat(path).catch(() => undefined);
}
