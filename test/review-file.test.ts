// review-file: adversarial review of the file token store (issue 14). Every test here states what the store or the
// session should do; the failing ones are the review's findings (see the branch's report).
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { lutimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenSession } from '../src/index.js';
import type { TokenSet } from '../src/index.js';
import { createFileTokenStore } from '../src/file.js';
import { MemoryTokenStore } from '../src/store.js';

const root = mkdtempSync(join(tmpdir(), 'axios-token-refresh-review-file-'));
let files = 0;
/** A fresh token path in a directory that does not exist yet. */
const nextPath = (): string => join(root, `login-${(files += 1)}`, 'tokens.json');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const HOUR = 3_600_000;
const tokens = (name: string): TokenSet => ({
  accessToken: `${name}-access`,
  refreshToken: `${name}-refresh`,
  expiresAt: Date.now() + HOUR,
});

afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

describe('createFileTokenStore() write(tokens, expectedVersion) is a compare-and-set, as the other stores', () => {
  it('writes nothing into a missing file when the caller expected a version other than 0 (the memory store agrees)', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    expect(new MemoryTokenStore().write(tokens('late'), 5)).toBeNull();
    expect(await store.read()).toEqual({ tokens: null, version: 0 });
    expect(await store.write(tokens('late'), 5)).toBeNull();
    await store.close();
  });

  it('does not let a slow writer that read version 2 resurrect its tokens after the file was deleted (logged out by hand)', async () => {
    const path = nextPath();
    const a = createFileTokenStore({ path });
    const b = createFileTokenStore({ path });
    await a.write(tokens('one'), 0);
    await a.write(tokens('two'), 1);
    unlinkSync(path); // `rm ~/.config/my-cli/tokens.json`
    expect(await b.write(tokens('slow-writer'), 2)).toBeNull();
    expect(await a.read()).toEqual({ tokens: null, version: 0 });
    await Promise.all([a.close(), b.close()]);
  });
});

describe('a running session (a daemon) when the token file was deleted and someone logged in again', () => {
  /** A long-running process that refreshed a few times, then `rm tokens.json && my-cli login` in a terminal. */
  async function deletedThenLoggedIn() {
    const path = nextPath();
    const daemonStore = createFileTokenStore({ path, pollIntervalMs: 20 });
    const presented: (string | undefined)[] = [];
    let n = 0;
    const daemon = createTokenSession({
      store: daemonStore,
      refresh: async (current: TokenSet) => {
        presented.push(current.refreshToken);
        n += 1;
        return {
          accessToken: `from-${current.refreshToken}-${n}`,
          refreshToken: `rotated-${n}`,
          expiresAt: Date.now() + HOUR,
        };
      },
    });
    for (const name of ['old-1', 'old-2', 'old-3']) await daemon.setTokens(tokens(name));
    unlinkSync(path);
    const cli = createFileTokenStore({ path });
    const { version } = await cli.read();
    const login = tokens('new-login');
    expect(await cli.write(login, version)).toEqual({ tokens: login, version: 1 });
    await cli.close();
    return { path, daemon, daemonStore, presented };
  }

  it('hears the new login (the file store announces it, although its version is lower than the one it last saw)', async () => {
    const { daemon, daemonStore } = await deletedThenLoggedIn();
    for (let i = 0; i < 250 && daemon.getTokens()?.accessToken !== 'new-login-access'; i += 1) await sleep(20);
    expect(daemon.getTokens()?.accessToken).toBe('new-login-access');
    await daemonStore.close();
  });

  it('refreshes from the new login once it heard it, and never writes its old tokens back over it', async () => {
    const { path, daemon, daemonStore, presented } = await deletedThenLoggedIn();
    for (let i = 0; i < 250 && daemon.getTokens()?.accessToken !== 'new-login-access'; i += 1) await sleep(20);
    await daemon.getAccessToken({ minValidityMs: 2 * HOUR }).catch(() => undefined);
    expect(presented).toEqual(['new-login-refresh']);
    expect(readFileSync(path, 'utf8')).not.toContain('old-3');
    await daemonStore.close();
  });

  it('asked for a token before it heard the login: never presents nor writes back its old tokens', async () => {
    // The flight's own read under the lock finds the login first; the session adopts it as the flight's outcome
    // (src/session.ts: a lower-version record the store holds wins), so a refresh from it is not required here.
    const { path, daemon, daemonStore, presented } = await deletedThenLoggedIn();
    await daemon.getAccessToken({ minValidityMs: 2 * HOUR }).catch(() => undefined);
    expect(presented.filter((token) => token !== 'new-login-refresh')).toEqual([]);
    expect(daemon.getTokens()?.accessToken).toMatch(/new-login/);
    expect(readFileSync(path, 'utf8')).not.toContain('old-3');
    await daemonStore.close();
  });
});

describe('createFileTokenStore() lock files it did not write', () => {
  it('treats a dangling symlink at `<path>.lock` like any hand-made lock: taken over 10 s after its last change', async () => {
    const path = nextPath();
    const store = createFileTokenStore({ path });
    await store.write(tokens('t'), 0);
    symlinkSync(join(root, 'nowhere'), `${path}.lock`);
    const past = new Date(Date.now() - 60_000);
    await lutimes(`${path}.lock`, past, past);
    expect(lstatSync(`${path}.lock`).isSymbolicLink()).toBe(true);
    await expect(store.withLock(async () => 'taken', { leaseMs: 10_000, waitMs: 1000 })).resolves.toBe('taken');
    await store.close();
  });
});

describe('createFileTokenStore() token directory others can write', () => {
  it('reports a token directory that group or others may write (anyone there can swap in their own tokens)', async () => {
    const path = nextPath();
    const directory = join(path, '..');
    mkdirSync(directory, { recursive: true });
    chmodSync(directory, 0o777);
    const warnings: string[] = [];
    const store = createFileTokenStore({ path, onWarning: (warning) => warnings.push(warning.message) });
    await store.write(tokens('t'), 0);
    await store.read();
    expect(warnings.join('\n')).toContain(directory);
    await store.close();
  });
});

describe('createFileTokenStore() lease under a wall-clock step (NTP step, resume from suspend)', () => {
  it('never lets a second holder in while the first task runs and its signal has not fired', async () => {
    const path = nextPath();
    const a = createFileTokenStore({ path });
    const b = createFileTokenStore({ path });
    await a.write(tokens('t'), 0);
    let release!: () => void;
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    let aborted = false;
    const first = a.withLock(
      ({ signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => (aborted = true));
          release = resolve;
          entered();
        }),
      { leaseMs: 10_000, waitMs: 10_000 },
    );
    await holding;
    const now = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => now + HOUR); // the wall clock steps one hour ahead
    let overlapped = false;
    const second = b.withLock(
      async () => {
        overlapped = !aborted;
      },
      { leaseMs: 10_000, waitMs: 300 },
    );
    await second.catch(() => undefined);
    release();
    await first.catch(() => undefined);
    expect(overlapped).toBe(false);
    await Promise.all([a.close(), b.close()]);
  });
});
