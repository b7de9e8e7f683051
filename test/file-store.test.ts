import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isTokenRefreshError } from '../src/index.js';
import type { StoredTokens, TokenSet } from '../src/index.js';
import { createFileTokenStore } from '../src/file.js';
import { CLAIM_STALE_MS, FileLease } from '../src/file-lock.js';
import { describeTokenStoreContract } from './store-contract.js';

const root = mkdtempSync(join(tmpdir(), 'axios-token-refresh-file-'));
let files = 0;
/** A fresh path in a directory that does not exist yet. */
const nextPath = (): string => join(root, `login-${(files += 1)}`, 'tokens.json');

afterAll(() => rmSync(root, { recursive: true, force: true }));

const SECRET = 'secret-refresh-token-value';
const T1: TokenSet = { accessToken: 'access-1', refreshToken: SECRET, expiresAt: 1_900_000_000_000 };
const LONG = { leaseMs: 10_000, waitMs: 10_000 } as const;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mode = (path: string): number => statSync(path).mode & 0o777;

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** Writes a lock file as another holder would have left it. */
function plantLock(path: string, lock: { pid: number; host: string; expiresAt: number }): void {
  writeFileSync(`${path}.lock`, JSON.stringify({ owner: 'ab'.repeat(16), ...lock }), { mode: 0o600 });
}

describeTokenStoreContract(
  'createFileTokenStore() with two handles on one file',
  async () => {
    const path = nextPath();
    const a = createFileTokenStore({ path });
    const b = createFileTokenStore({ path });
    return {
      a,
      b,
      dispose: async () => {
        await Promise.all([a.close(), b.close()]);
      },
    };
  },
  { waitTimeout: true, leaseExpiry: true, subscribe: true },
);

describe('createFileTokenStore(options)', () => {
  it('rejects bad options with a TypeError that names the option and what it must be', () => {
    expect(() => createFileTokenStore(undefined as never)).toThrow(
      'Expected `options` to be an object, got `undefined`',
    );
    expect(() => createFileTokenStore({} as never)).toThrow(
      'Expected `path` to be a non-empty string, got `undefined`',
    );
    expect(() => createFileTokenStore({ path: '' })).toThrow(
      'Expected `path` to be a non-empty string, got an empty string',
    );
    expect(() => createFileTokenStore({ path: 'x', pollIntervalMs: 0 })).toThrow(
      'Expected `pollIntervalMs` to be a finite number >= 10, got `0` (number)',
    );
    expect(() => createFileTokenStore({ path: 'x', maxLockPollIntervalMs: Number.NaN })).toThrow(
      'Expected `maxLockPollIntervalMs` to be a finite number >= 1, got `NaN` (number)',
    );
    expect(() => createFileTokenStore({ path: 'x', watch: 'yes' as never })).toThrow(
      'Expected `watch` to be a boolean',
    );
    expect(() => createFileTokenStore({ path: 'x', onWarning: 1 as never })).toThrow(
      'Expected `onWarning` to be a function',
    );
  });

  it('rejects a write with a bad expected version or tokens that are not a TokenSet, writing nothing', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await expect(store.write(T1, -1)).rejects.toThrow(
      'Expected `expectedVersion` to be an integer >= 0, got `-1` (number)',
    );
    await expect(store.write({ accessToken: 5 } as never, 0)).rejects.toThrow(
      'Expected `tokens` to be null or a TokenSet',
    );
    expect(existsSync(path)).toBe(false);
    await store.close();
  });
});

describe('createFileTokenStore() on disk', () => {
  it('creates a missing directory with mode 0700, and the token file and the lock with mode 0600', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    expect(mode(join(path, '..'))).toBe(0o700);
    expect(mode(path)).toBe(0o600);
    const lockMode = await store.withLock(async () => mode(`${path}.lock`), LONG);
    expect(lockMode).toBe(0o600);
    expect(existsSync(`${path}.lock`)).toBe(false);
    await store.close();
  });

  it('stores the record as JSON and leaves no temporary file behind', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    await store.write(null, 1);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 2, tokens: null });
    expect(readdirSync(join(path, '..'))).toEqual(['tokens.json']);
    await store.close();
  });

  it('reports a token file that group or others may read, once and without its content; the next write makes it 0600', async () => {
    const path = nextPath();
    const seed = createFileTokenStore({ path });
    await seed.write(T1, 0);
    await seed.close();
    chmodSync(path, 0o644);
    const warnings: Error[] = [];
    const store = createFileTokenStore({ path, onWarning: (warning) => warnings.push(warning) });
    await store.read();
    await store.read();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.name).toBe('TokenRefreshWarning');
    expect(warnings[0]?.message).toContain(path);
    expect(warnings[0]?.message).toContain('0644');
    expect(warnings[0]?.message).not.toContain(SECRET);
    await store.write(T1, 1);
    expect(mode(path)).toBe(0o600);
    await store.close();
  });

  it('sends that warning to process.emitWarning when there is no onWarning', async () => {
    const path = nextPath();
    const seed = createFileTokenStore({ path });
    await seed.write(T1, 0);
    await seed.close();
    chmodSync(path, 0o640);
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const store = createFileTokenStore({ path });
      await store.read();
      await store.close();
      expect(emitted).toHaveBeenCalledTimes(1);
      expect(String((emitted.mock.calls[0]?.[0] as Error | undefined)?.message)).toContain('mode 0640');
    } finally {
      emitted.mockRestore();
    }
  });

  describe('a corrupt, truncated or hand-edited file', () => {
    const bad = {
      truncated: `{"version":3,"tokens":{"accessToken":"access-3","refreshToken":"${SECRET}`,
      'not JSON': 'hello',
      'a negative version': `{"version":-1,"tokens":null}`,
      'tokens that are not a TokenSet': `{"version":2,"tokens":{"accessToken":5,"refreshToken":"${SECRET}"}}`,
    };
    for (const [what, text] of Object.entries(bad)) {
      it(`is never adopted (${what}): read() rejects with STORE_FAILED naming the file, and subscribers hear nothing`, async () => {
        const path = nextPath();
        const store = createFileTokenStore({ path, pollIntervalMs: 10 });
        await store.write(T1, 0);
        const heard: StoredTokens[] = [];
        store.subscribe!((stored) => heard.push(stored));
        writeFileSync(path, text, { mode: 0o600 });
        const error = await rejection(Promise.resolve(store.read()));
        expect(isTokenRefreshError(error)).toBe(true);
        expect(error.code).toBe('STORE_FAILED');
        expect(error.message).toContain(`\`${path}\``);
        expect(error.message).toContain('the next login or refresh replaces it');
        expect(error.message).not.toContain(SECRET);
        await sleep(60);
        expect(heard).toEqual([]);
        await store.close();
      });
    }

    it('is replaced by the next write, whatever version that write expected', async () => {
      const path = nextPath();
      const store = createFileTokenStore({ path });
      await store.write(T1, 0);
      writeFileSync(path, '{"version":', { mode: 0o600 });
      expect(await store.write(T1, 7)).toEqual({ tokens: T1, version: 8 });
      expect(await store.read()).toEqual({ tokens: T1, version: 8 });
      expect(await store.write(null, 7)).toBeNull();
      await store.close();
    });
  });
});

describe('createFileTokenStore() lock', () => {
  it('takes over a lock whose lease ran out, left by a holder on another machine', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    plantLock(path, { pid: 1, host: 'another-machine', expiresAt: Date.now() - 1 });
    await expect(store.withLock(async () => 'taken over', { leaseMs: 10_000, waitMs: 1000 })).resolves.toBe(
      'taken over',
    );
    await store.close();
  });

  it('takes over at once a live-looking lease whose holder on this machine is gone', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const pid = Number(gone.stdout.trim());
    const host = `${hostname()}${existsSync('/proc/self/ns/pid') ? ` ${(await import('node:fs')).readlinkSync('/proc/self/ns/pid')}` : ''}`;
    plantLock(path, { pid, host, expiresAt: Date.now() + 600_000 });
    await expect(store.withLock(async () => 'taken over', { leaseMs: 10_000, waitMs: 1000 })).resolves.toBe(
      'taken over',
    );
    await store.close();
  });

  it('waits for a live lease of another machine and rejects with REFRESH_TIMEOUT after waitMs', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    plantLock(path, { pid: 1, host: 'another-machine', expiresAt: Date.now() + 600_000 });
    let ran = false;
    const error = await rejection(
      store.withLock(
        async () => {
          ran = true;
        },
        { leaseMs: 10_000, waitMs: 100 },
      ),
    );
    expect(ran).toBe(false);
    expect(error.code).toBe('REFRESH_TIMEOUT');
    expect(error.message).toContain(`${path}.lock`);
    await store.close();
  });

  it('treats a hand-made lock file that is not a lock record as held until 10 s after its last change', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    writeFileSync(`${path}.lock`, 'mine!');
    await expect(store.withLock(async () => 1, { leaseMs: 10_000, waitMs: 50 })).rejects.toThrow(/lock/);
    const { utimesSync } = await import('node:fs');
    utimesSync(`${path}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await expect(store.withLock(async () => 2, { leaseMs: 10_000, waitMs: 1000 })).resolves.toBe(2);
    await store.close();
  });

  it('lets a write outside the lock (a login) through while a refresh holds the lock', async () => {
    const path = nextPath();
    const a = createFileTokenStore({ path });
    const b = createFileTokenStore({ path });
    let release!: () => void;
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    const holder = a.withLock(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
          entered();
        }),
      LONG,
    );
    await holding;
    expect(await b.write(T1, 0)).toEqual({ tokens: T1, version: 1 });
    release();
    await holder;
    await Promise.all([a.close(), b.close()]);
  });
});

describe('createFileTokenStore() after the token file was deleted (a logout by hand, a wiped config)', () => {
  it('tells subscribers about a record below the version they last heard: a new login starts again at 1', async () => {
    const path = nextPath();
    const daemon = createFileTokenStore({ path, pollIntervalMs: 10 });
    for (let version = 0; version < 3; version += 1) await daemon.write(T1, version);
    const heard: number[] = [];
    daemon.subscribe!((stored) => heard.push(stored.version));
    const { unlinkSync } = await import('node:fs');
    unlinkSync(path);
    await sleep(40);
    expect(heard).toEqual([]); // no file is no news: the next refresh or login fills it
    const cli = createFileTokenStore({ path });
    expect(await cli.write(T1, 0)).toEqual({ tokens: T1, version: 1 });
    for (let i = 0; i < 500 && heard.length === 0; i += 1) await sleep(10);
    expect(heard).toEqual([1]);
    await Promise.all([daemon.close(), cli.close()]);
  });

  it('writes above every version the handle saw, so that processes that heard those versions hear the new one', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    for (let version = 0; version < 3; version += 1) await store.write(T1, version);
    const { unlinkSync } = await import('node:fs');
    unlinkSync(path);
    expect(await store.write(T1, 0)).toEqual({ tokens: T1, version: 4 });
    expect(await store.read()).toEqual({ tokens: T1, version: 4 });
    await store.close();
  });
});

describe('createFileTokenStore() leftovers of writers killed mid-write', () => {
  it('removes the temporary token files a dead writer left, at the next write of tokens too (not only at logout)', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    const leftover = `${path}.${'c'.repeat(32)}.tmp`;
    writeFileSync(leftover, JSON.stringify({ version: 2, tokens: T1 }), { mode: 0o600 });
    const unrelated = join(path, '..', 'notes.1.tmp');
    writeFileSync(unrelated, 'keep me');
    expect(await store.write(T1, 1)).toEqual({ tokens: T1, version: 2 });
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(unrelated)).toBe(true);
    expect(readdirSync(join(path, '..')).filter((name) => name.endsWith('.tmp'))).toEqual(['notes.1.tmp']);
    await store.close();
  });
});

describe('createFileTokenStore() leftovers of lock takers killed mid-claim', () => {
  // Session 6's store review: a process killed between creating a lock record's temporary file and linking it under
  // the lock's name left `<path>.lock.<12 hex>.tmp` behind for good. It holds no token, but a CLI's folder filled up.
  it("removes lock records' temporary files older than 10 s at the next write, and leaves fresh ones (a lock being taken now)", async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    const old = new Date(Date.now() - 60_000);
    const owner = 'd'.repeat(32);
    const stale = [
      `${path}.lock.${'a'.repeat(12)}.tmp`,
      `${path}.write-lock.${'b'.repeat(12)}.tmp`,
      `${path}.lock.${owner}.claim0.${'e'.repeat(12)}.tmp`,
      `${path}.write-lock.${owner}.claim3.${'f'.repeat(12)}.tmp`,
    ];
    for (const name of stale) {
      writeFileSync(name, '{"owner":"x"}', { mode: 0o600 });
      utimesSync(name, old, old);
    }
    const fresh = `${path}.lock.${'9'.repeat(12)}.tmp`;
    writeFileSync(fresh, '{"owner":"y"}', { mode: 0o600 });
    const unrelated = join(path, '..', 'other.lock.aaaaaaaaaaaa.tmp');
    writeFileSync(unrelated, 'keep me');
    utimesSync(unrelated, old, old);
    expect(await store.write(T1, 1)).toEqual({ tokens: T1, version: 2 });
    for (const name of stale) expect(existsSync(name)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    await store.close();
  });
});

describe('createFileTokenStore() ownership of the token file', () => {
  it.runIf(process.getuid?.() === 0)(
    'reports a token file that another user owns (run as root: chown to nobody)',
    async () => {
      const path = nextPath();
      const store = createFileTokenStore({ path });
      await store.write(T1, 0);
      await store.close();
      const { chownSync } = await import('node:fs');
      chownSync(path, 65534, 65534);
      const warnings: string[] = [];
      const again = createFileTokenStore({ path, onWarning: (warning) => warnings.push(warning.message) });
      await again.read();
      expect(warnings.join('\n')).toContain('belongs to user 65534');
      expect(warnings.join('\n')).not.toContain(SECRET);
      await again.close();
    },
  );
});

describe('createFileTokenStore() lease and the wall clock', () => {
  it('aborts the holder at its next store call once its wall clock stepped past the lease (waiters elsewhere judge by theirs)', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(T1, 0);
    const result = await store.withLock(async ({ signal }) => {
      const now = Date.now();
      const spy = vi.spyOn(Date, 'now').mockImplementation(() => now + 3_600_000);
      try {
        await store.read();
        return { aborted: signal.aborted, code: (signal.reason as { code?: string } | undefined)?.code };
      } finally {
        spy.mockRestore();
      }
    }, LONG);
    expect(result).toEqual({ aborted: true, code: 'REFRESH_TIMEOUT' });
    await store.close();
  });

  it.runIf(existsSync('/proc/sys/kernel/random/boot_id'))(
    'judges a lease taken on this machine by the monotonic clock, both ways (Linux)',
    async () => {
      const dir = join(root, `lease-${(files += 1)}`);
      mkdirSync(dir);
      const first = new FileLease(join(dir, 'l.lock'));
      const second = new FileLease(join(dir, 'l.lock'));
      expect(first.tryAcquire(60_000)).toBeDefined();
      const now = Date.now();
      const spy = vi.spyOn(Date, 'now').mockImplementation(() => now + 3_600_000);
      expect(second.tryAcquire(60_000)).toBeUndefined(); // the wall clock stepped an hour: the lease still runs
      spy.mockRestore();
      const short = new FileLease(join(dir, 'm.lock'));
      expect(short.tryAcquire(1)).toBeDefined();
      await sleep(5);
      const back = vi.spyOn(Date, 'now').mockImplementation(() => now - 3_600_000);
      expect(new FileLease(join(dir, 'm.lock')).tryAcquire(60_000)).toBeDefined(); // its 1 ms ran out, whatever the wall clock says
      back.mockRestore();
    },
  );
});

describe('createFileTokenStore() close()', () => {
  it('stops watching and polling, fails a waiting withLock, and fails every later call with STORE_FAILED', async () => {
    const path = nextPath();
    const a = createFileTokenStore({ path });
    const b = createFileTokenStore({ path, pollIntervalMs: 10 });
    await a.write(T1, 0);
    const heard: StoredTokens[] = [];
    b.subscribe!((stored) => heard.push(stored));
    let release!: () => void;
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    const holder = a.withLock(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
          entered();
        }),
      LONG,
    );
    await holding;
    const waiting = rejection(b.withLock(async () => 'never', LONG));
    await sleep(20);
    const closing = performance.now();
    await b.close();
    expect(performance.now() - closing).toBeLessThan(1000);
    expect((await waiting).code).toBe('STORE_FAILED');
    const before = heard.length;
    await a.write(null, 1);
    await sleep(60);
    expect(heard).toHaveLength(before);
    await expect(b.read()).rejects.toThrow('Cannot call `read()`: the file token store for');
    release();
    await holder;
    await a.close();
  });
});

describe('FileLease (the lock file protocol under the store)', () => {
  const STALE = 'cd'.repeat(16);
  const plantStale = (path: string): void =>
    writeFileSync(path, JSON.stringify({ owner: STALE, pid: 1, host: 'another-machine', expiresAt: Date.now() - 1 }));
  const lockPath = (): string => {
    const path = nextPath();
    mkdirSync(join(path, '..'), { recursive: true });
    return `${path}.lock`;
  };

  it('lets only the first of two waiters that saw the same stale lock take it over; the second finds it taken', () => {
    const path = lockPath();
    plantStale(path);
    // Both waiters read the stale lock before either acts: the interleaving that lets a delete-then-create takeover
    // hand the lock to both.
    const first = new FileLease(path).takeOver(STALE, 10_000);
    const second = new FileLease(path).takeOver(STALE, 10_000);
    expect(first).toBeDefined();
    expect(second).toBeUndefined();
    expect(JSON.parse(readFileSync(path, 'utf8')).owner).toBe(first?.owner);
    expect(readdirSync(join(path, '..'))).toEqual([basename(path)]);
  });

  it('refuses a takeover while another live process holds the claim on that stale lock', () => {
    const path = lockPath();
    plantStale(path);
    writeFileSync(`${path}.${STALE}.claim0`, JSON.stringify({ pid: 1, host: 'another-machine', at: Date.now() }));
    expect(new FileLease(path).takeOver(STALE, 10_000)).toBeUndefined();
    expect(JSON.parse(readFileSync(path, 'utf8')).owner).toBe(STALE);
  });

  it('passes over a claim whose maker is gone (older than CLAIM_STALE_MS) and cleans it up', () => {
    const path = lockPath();
    plantStale(path);
    writeFileSync(
      `${path}.${STALE}.claim0`,
      JSON.stringify({ pid: 1, host: 'another-machine', at: Date.now() - CLAIM_STALE_MS - 1 }),
    );
    const taken = new FileLease(path).takeOver(STALE, 10_000);
    expect(taken).toBeDefined();
    expect(readdirSync(join(path, '..'))).toEqual([basename(path)]);
  });

  it("does not delete the next holder's lock when a holder whose lease ran out releases late", () => {
    const path = lockPath();
    const late = new FileLease(path).tryAcquire(1);
    expect(late).toBeDefined();
    const until = Date.now() + 5;
    while (Date.now() < until) {
      // Let the 1 ms lease run out.
    }
    const next = new FileLease(path).tryAcquire(10_000);
    expect(next).toBeDefined();
    new FileLease(path).release(late!);
    expect(JSON.parse(readFileSync(path, 'utf8')).owner).toBe(next?.owner);
  });
});
