import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { hostname } from 'node:os';
import { randomId } from './shared-store.js';

/**
 * A lease lock on a file, made of the filesystem's own atomic operations (no locking library: the ones on npm use
 * `mkdir` plus mtime staleness and break a stale lock with a plain delete, which lets two waiters that notice the
 * stale lock at once both hold it).
 *
 * - The lock file holds `{ owner, pid, host, expiresAt }`. It is created whole or not at all: written to a private
 *   temporary file, then hard-linked to the lock's name (`link` fails with EEXIST when the name exists).
 * - A lock is stale when its lease has run out, or when its owner ran on this machine (same host name and PID
 *   namespace) and that process no longer exists. A holder on this machine and boot (Linux) also writes its lease's end
 *   on the machine's monotonic clock (`monoExpiresAt`), and waiters there judge by that clock alone: a step of the wall
 *   clock (NTP, resume from suspend) cannot end a live lease early. Everyone else judges by `expiresAt` (epoch ms).
 * - Removing or replacing the lock file of owner `o` (a release by `o`, or a takeover of `o`'s stale lock) needs the
 *   claim `<lock>.<o>.claim<k>`, created with the same link trick, so exactly one process wins it; the winner checks
 *   that the lock file still belongs to `o` before it renames its own lock over it (or deletes it). A claim whose
 *   maker died (same machine) or that is older than {@link CLAIM_STALE_MS} is abandoned: the next claim is `k + 1`.
 *   Every step between taking a claim and acting on it is a synchronous system call, so a process cannot be paused by
 *   its own event loop in between.
 */

/** What a lock file holds. */
export interface LockRecord {
  /** Random per acquisition: names this holder and nobody else. */
  readonly owner: string;
  /** The holder's process id (for the dead-owner check and for people reading the file). */
  readonly pid: number;
  /** The machine and PID namespace the pid belongs to. */
  readonly host: string;
  /** When the lease runs out, in epoch milliseconds. */
  readonly expiresAt: number;
  /** The machine's boot (and time namespace) `monoExpiresAt` belongs to; absent where it cannot be told (not Linux). */
  readonly boot?: string;
  /** When the lease runs out on the machine's monotonic clock (milliseconds since boot, `process.hrtime`). */
  readonly monoExpiresAt?: number;
}

/** A claim older than this, in milliseconds, is abandoned even when its maker cannot be checked (another machine). */
export const CLAIM_STALE_MS = 10_000;
const MAX_CLAIMS = 8;
/** Lock and claim records are about 200 bytes: a file larger than this is not one, and is never read whole. */
const MAX_RECORD_BYTES = 4096;
/**
 * Random hex digits in the name of a temporary file (48 bits). Each one is created with `O_EXCL` and lives for one
 * system call or two, so this is plenty; a short name keeps `<claim>.<random>.tmp` within NAME_MAX (255 bytes).
 */
const TEMPORARY_ID_LENGTH = 12;
/**
 * The most bytes a {@link FileLease} adds to its lock file's name: a claim `.<owner: 32 hex>.claim<k>` (40) and the
 * temporary file it is made through, `.<12 hex>.tmp` (17). A lock file's name plus this must stay within 255 bytes.
 */
export const LEASE_NAME_SUFFIX_BYTES = 57;
/** Opens without following a symlink and without waiting for a FIFO's writer (where the platform has the flags). */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

let hostId: string | undefined;

/** This machine and PID namespace: pids are only comparable inside one. */
function thisHost(): string {
  if (hostId === undefined) {
    let namespace = '';
    try {
      namespace = readlinkSync('/proc/self/ns/pid');
    } catch {
      // Not Linux: one PID namespace per machine.
    }
    hostId = `${hostname()}${namespace === '' ? '' : ` ${namespace}`}`;
  }
  return hostId;
}

let bootId: string | undefined;

/**
 * This boot and time namespace, on Linux: `process.hrtime` (CLOCK_MONOTONIC) readings are comparable between the
 * processes of one. Empty elsewhere (no such guarantee we can check), where leases are judged by the wall clock.
 */
function thisBoot(): string {
  if (bootId === undefined) {
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      let time = '';
      try {
        time = readlinkSync('/proc/self/ns/time');
      } catch {
        // A kernel without time namespaces: one monotonic clock per boot.
      }
      bootId = `${boot} ${time}`;
    } catch {
      bootId = '';
    }
  }
  return bootId;
}

/** The machine's monotonic clock in milliseconds (since boot on Linux); immune to wall-clock steps. */
function monotonicNow(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}

/** A new lock record of ours for `leaseMs` milliseconds. */
function newRecord(leaseMs: number): LockRecord {
  const record: LockRecord = { owner: randomId(), pid: process.pid, host: thisHost(), expiresAt: Date.now() + leaseMs };
  const boot = thisBoot();
  return boot === '' ? record : { ...record, boot, monoExpiresAt: monotonicNow() + leaseMs };
}

/** Whether the lease of `lock` has run out: on the monotonic clock when it was taken on this machine and boot. */
function leaseOver(lock: LockRecord): boolean {
  const boot = thisBoot();
  if (boot !== '' && lock.boot === boot && lock.host === thisHost() && typeof lock.monoExpiresAt === 'number') {
    return monotonicNow() >= lock.monoExpiresAt;
  }
  return Date.now() >= lock.expiresAt;
}

/** The `code` of an fs error (`ENOENT`, `EEXIST`…), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the process that wrote `pid`/`host` is known to be gone. */
function isDead(pid: unknown, host: unknown): boolean {
  if (host !== thisHost() || typeof pid !== 'number' || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return errorCode(error) === 'ESRCH';
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or will be cleaned up by whoever comes next.
  }
}

/** A short random name for a temporary file beside `path`. */
function temporaryName(path: string): string {
  return `${path}.${randomId().slice(0, TEMPORARY_ID_LENGTH)}.tmp`;
}

/** Creates `path` with `text` as its whole content, mode 0600, only if `path` does not exist. False on EEXIST. */
export function createWhole(path: string, text: string): boolean {
  const temporary = temporaryName(path);
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkQuietly(temporary);
  }
}

/**
 * The text of `path` when it is a regular file of at most {@link MAX_RECORD_BYTES}: undefined when there is no such
 * name, null when it is anything else. A symlink (a dangling one included), a FIFO, a device or a socket is never
 * read: its name is taken, so it counts as a hand-made file, and reading one could block or never end. A directory
 * throws EISDIR.
 */
function readSmallFile(path: string): string | undefined | null {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    // ELOOP (a symlink, with O_NOFOLLOW), ENXIO (a socket)…: whatever holds the name but cannot be opened as a file.
    const stat = lstatOrUndefined(path);
    if (stat === undefined) return undefined;
    if (!stat.isFile()) return null;
    // ENOENT, then a regular file: made just after we looked (a lock being taken). No file yet, as far as we know.
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) {
      // As reading it would: a directory is no lock, nor will it ever be taken over (rename cannot replace it).
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: 'EISDIR' });
    }
    if (!stat.isFile()) return null;
    const buffer = Buffer.alloc(MAX_RECORD_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return length > MAX_RECORD_BYTES ? null : buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** `lstat` of `path`, undefined when there is no such name. */
function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The JSON object in `path`: undefined when there is no such name, null when it is something else (see
 * {@link readSmallFile}: its name is taken, so it must be treated as a hand-made file, not as no file). */
function readJson(path: string): Record<string, unknown> | undefined | null {
  const text = readSmallFile(path);
  if (typeof text !== 'string') return text;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Reads the lock file: undefined when there is none. A file that is not a lock record (hand-made, or a symlink, even
 * a dangling one) gets an owner named after its inode and expires 10 s after it was last modified. */
function readLock(path: string): LockRecord | undefined {
  const value = readJson(path);
  if (value === undefined) return undefined;
  if (
    value !== null &&
    typeof value.owner === 'string' &&
    /^[0-9a-f]{32}$/.test(value.owner) &&
    typeof value.expiresAt === 'number' &&
    typeof value.pid === 'number' &&
    typeof value.host === 'string'
  ) {
    return value as unknown as LockRecord;
  }
  const stat = lstatOrUndefined(path);
  if (stat === undefined) return undefined;
  return { owner: `inode${stat.ino}`, pid: -1, host: '', expiresAt: stat.mtimeMs + CLAIM_STALE_MS };
}

/** A lease lock held on one file. */
export class FileLease {
  readonly path: string;

  /** @param path - the lock file. Its directory must exist. */
  constructor(path: string) {
    this.path = path;
  }

  /**
   * One attempt to take the lock for `leaseMs` milliseconds, taking over a stale lock. Returns the record written,
   * or undefined when someone else holds the lock (or is taking over the stale one right now).
   */
  tryAcquire(leaseMs: number): LockRecord | undefined {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      // Look before creating anything: a waiter that polls a held lock then costs one read, and no directory events.
      const current = readLock(this.path);
      if (current === undefined) {
        const record = newRecord(leaseMs);
        if (createWhole(this.path, JSON.stringify(record))) return record;
        continue; // someone else created it in between: look at theirs
      }
      if (!(leaseOver(current) || isDead(current.pid, current.host))) return undefined;
      return this.takeOver(current.owner, leaseMs);
    }
    return undefined;
  }

  /**
   * Replaces the stale lock of `staleOwner`, seen a moment ago, with a lock of our own for `leaseMs` milliseconds.
   * Returns undefined when the lock file no longer belongs to `staleOwner` (another waiter that saw the same stale
   * lock took it over first) or when another process is taking it over right now.
   */
  takeOver(staleOwner: string, leaseMs: number): LockRecord | undefined {
    const record = newRecord(leaseMs);
    return this.#replace(staleOwner, record) ? record : undefined;
  }

  /** Frees the lock if `held` still has it (after its lease ran out, someone else may). */
  release(held: LockRecord): void {
    this.#replace(held.owner, null);
  }

  /** Replaces (or, with null, removes) the lock file of `owner`, if it is still theirs and we win the claim on it. */
  #replace(owner: string, next: LockRecord | null): boolean {
    const claims = this.#claim(owner);
    if (claims === undefined) return false;
    try {
      if (readLock(this.path)?.owner !== owner) return false;
      if (next === null) {
        unlinkSync(this.path);
      } else {
        const temporary = temporaryName(this.path);
        const fd = openSync(temporary, 'wx', 0o600);
        try {
          writeSync(fd, JSON.stringify(next));
        } finally {
          closeSync(fd);
        }
        try {
          renameSync(temporary, this.path);
        } catch (error) {
          unlinkQuietly(temporary);
          throw error;
        }
      }
      return true;
    } finally {
      // Only now: an abandoned lower claim left in place kept newcomers off while we acted.
      for (const claim of claims) unlinkQuietly(claim);
    }
  }

  /** Wins the claim on `owner`'s lock file: the paths to remove afterwards, or undefined when someone else has it. */
  #claim(owner: string): string[] | undefined {
    const claims: string[] = [];
    const text = JSON.stringify({ pid: process.pid, host: thisHost(), at: Date.now() });
    for (let k = 0; k < MAX_CLAIMS; k += 1) {
      const path = `${this.path}.${owner}.claim${k}`;
      claims.push(path);
      if (createWhole(path, text)) return claims;
      const claim = readJson(path);
      if (claim === undefined) {
        // Its maker finished in between: the lock file changed hands, let the caller look again.
        return undefined;
      }
      const abandoned =
        claim === null ||
        isDead(claim.pid, claim.host) ||
        typeof claim.at !== 'number' ||
        Date.now() - claim.at > CLAIM_STALE_MS;
      if (!abandoned) return undefined;
    }
    return undefined;
  }
}
