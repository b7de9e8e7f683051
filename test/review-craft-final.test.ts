/**
 * Adversarial review of the issue-12 refactor ("craft"), the parts the earlier reviews did not cover: session races
 * with a failing / hanging / lying store (`git diff 93572f1..HEAD -- src/session.ts`: `#clearLocally` and `#commit`'s
 * store-failure path now go through `#settle`, which skips the `tokens` event when newer tokens were adopted while
 * `onTokens` ran). The promise under test: the LAST `tokens` event always names the tokens in use (getTokens()), and
 * requests go out with them. Each test says how 93572f1 behaved; failing tests are findings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { type AxiosAdapter, type AxiosInstance } from 'axios';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createFileTokenStore } from '../src/file.js';
import { FileLease } from '../src/file-lock.js';
import { attachRefresh, createTokenSession, MemoryTokenStore } from '../src/index.js';
import type { LockContext, LockOptions, StoredTokens, TokenSession, TokenSet, TokenStore } from '../src/index.js';

type Mode = 'ok' | 'reject' | 'hang' | 'null-once';

/** A memory store whose writes can be made to reject, never settle, or answer `null` once (a lost compare-and-set). */
class FlakyStore implements TokenStore {
  readonly inner: MemoryTokenStore;
  mode: Mode = 'ok';
  writes = 0;
  constructor(tokens: TokenSet | null = null) {
    this.inner = new MemoryTokenStore(tokens);
  }
  async read(): Promise<StoredTokens> {
    return this.inner.read();
  }
  async write(tokens: TokenSet | null, version: number, ended?: 'expired' | 'logout'): Promise<StoredTokens | null> {
    this.writes += 1;
    if (this.mode === 'reject') throw new Error('disk full');
    if (this.mode === 'hang') return new Promise(() => undefined);
    if (this.mode === 'null-once') {
      this.mode = 'ok';
      return null;
    }
    return this.inner.write(tokens, version, ended);
  }
  withLock<T>(task: (context: LockContext) => Promise<T>, options: LockOptions): Promise<T> {
    return this.inner.withLock(task, options);
  }
}

async function until(condition: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition never held');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** The session's `tokens` events (access tokens, null for none) and `refreshError` codes, in order. */
function watch(session: TokenSession): { tokens: (string | null)[]; errors: string[] } {
  const seen = { tokens: [] as (string | null)[], errors: [] as string[] };
  session.on('tokens', (tokens) => seen.tokens.push(tokens?.accessToken ?? null));
  session.on('refreshError', (error) => seen.errors.push(error.code));
  return seen;
}

/** An axios instance on the session that records the Authorization header of each request it sends. */
function apiOn(session: TokenSession): { api: AxiosInstance; sent: (string | null)[] } {
  const sent: (string | null)[] = [];
  const adapter: AxiosAdapter = async (config) => {
    sent.push((config.headers.Authorization as string | undefined) ?? null);
    return { data: {}, status: 200, statusText: 'OK', headers: {}, config };
  };
  const api = axios.create({ adapter });
  attachRefresh(api, { session });
  return { api, sent };
}

const A: TokenSet = { accessToken: 'access-A', refreshToken: 'refresh-A' };
const B: TokenSet = { accessToken: 'access-B', refreshToken: 'refresh-B' };

describe('session races with a failing store: the last `tokens` event names the tokens in use', () => {
  // FINDING (also on 93572f1). setTokens(A) is in onTokens(A) (slow: the app saves to a slow disk) when logout() runs
  // and the store fails the write: #clearLocally adopts null AT THE SAME VERSION (it cannot write a new one), emits
  // `tokens: null`, then setTokens' #settle sees the version unchanged and emits `tokens: A`. The app's last event says
  // "logged in as A" while getTokens() is null and requests go out without a token. 93572f1: the same (its
  // #emitTokens compared the same version). The version check cannot tell a local-only clear from "nothing happened".
  it('logout() with a failing store write while setTokens(A) is still in onTokens: last event is null', async () => {
    const store = new FlakyStore();
    const slow = gate();
    const session = createTokenSession({
      tokens: null,
      store,
      refresh: async () => ({ accessToken: 'never' }),
      onTokens: (tokens) => (tokens?.accessToken === 'access-A' ? slow.promise : undefined),
      refreshTimeoutMs: 2_000,
    });
    const seen = watch(session);
    const { api, sent } = apiOn(session);
    const login = session.setTokens(A);
    await until(() => session.getTokens() !== null);
    store.mode = 'reject';
    await session.logout();
    expect(session.getTokens()).toBeNull();
    slow.open();
    await login;
    await api.get('/x').catch(() => undefined);
    expect(sent).not.toContain('Bearer access-A');
    expect(session.getTokens()).toBeNull();
    expect(seen.tokens.at(-1)).toBeNull();
  });

  // Pins the refactor's fix (FAILS on 93572f1). logout() with a failing store write clears locally; its onTokens(null)
  // is slow, and meanwhile the app logs in again (setTokens(B), the store works again). 93572f1's #clearLocally emitted
  // `tokens: null` unconditionally after onTokens(null): last event null while B was in use. Now: skipped.
  it('setTokens(B) while a locally-cleared logout is still in onTokens(null): last event is B', async () => {
    const store = new FlakyStore(A);
    const slow = gate();
    let nulls = 0;
    const session = createTokenSession({
      tokens: A,
      store,
      refresh: async () => ({ accessToken: 'never' }),
      onTokens: (tokens) => {
        if (tokens === null && ++nulls === 1) return slow.promise;
        return undefined;
      },
      refreshTimeoutMs: 2_000,
    });
    const seen = watch(session);
    const { api, sent } = apiOn(session);
    await session.getAccessToken(); // loaded
    store.mode = 'reject';
    const out = session.logout();
    await until(() => nulls === 1);
    store.mode = 'ok';
    await session.setTokens(B);
    slow.open();
    await out;
    await api.get('/x');
    expect(session.getTokens()?.accessToken).toBe('access-B');
    expect(sent).toEqual(['Bearer access-B']);
    expect(seen.tokens.at(-1)).toBe('access-B');
  });

  // Pins the refactor's fix (FAILS on 93572f1). A refresh's compare-and-set write fails (#commit's store-failure path:
  // the new tokens N are used anyway); onTokens(N) is slow; the app logs in meanwhile (setTokens(B), store back). 93572f1
  // emitted `tokens: N` unconditionally after onTokens(N): last event N while B was in use. Now: no `tokens: N`, only the
  // STORE_FAILED refreshError.
  it('setTokens(B) while a refresh whose store write failed is still in onTokens(N): last event is B, the request waiting goes with B', async () => {
    const store = new FlakyStore({ ...A, expiresAt: Date.now() - 1 });
    const slow = gate();
    let inOnTokensN = false;
    const session = createTokenSession({
      tokens: { ...A, expiresAt: Date.now() - 1 },
      store,
      refresh: async () => {
        store.mode = 'reject';
        return { accessToken: 'access-N', refreshToken: 'refresh-N' };
      },
      onTokens: (tokens) => {
        if (tokens?.accessToken !== 'access-N') return undefined;
        inOnTokensN = true;
        return slow.promise;
      },
      refreshTimeoutMs: 2_000,
    });
    const seen = watch(session);
    const { api, sent } = apiOn(session);
    const request = api.get('/x');
    await until(() => inOnTokensN);
    store.mode = 'ok';
    await session.setTokens(B);
    slow.open();
    await request;
    await until(() => seen.errors.includes('STORE_FAILED'));
    expect(session.getTokens()?.accessToken).toBe('access-B');
    expect(sent).toEqual(['Bearer access-B']);
    expect(seen.tokens.at(-1)).toBe('access-B');
    expect(seen.tokens).not.toContain('access-N');
  });

  // FINDING (also on 93572f1). A store whose write answers `null` once while the record is still at the version read
  // (a lost compare-and-set that no newer writer explains: a flaky custom store, a Redis WATCH aborted by an unrelated
  // touch). #clearForLogout takes `null` as "a login elsewhere won", re-reads, finds nothing newer, and adopts nothing:
  // logout() resolves { revoked: false }, no `tokens` event, and the session is STILL LOGGED IN (requests carry A).
  // setTokens retries the same situation up to 10 times; logout does not retry, nor fall back to clearing locally.
  it('logout() when the store write answers null once (no newer record): the session is logged out all the same', async () => {
    const store = new FlakyStore(A);
    const session = createTokenSession({ tokens: A, store, refresh: async () => ({ accessToken: 'never' }) });
    const seen = watch(session);
    const { api, sent } = apiOn(session);
    await session.getAccessToken();
    store.mode = 'null-once';
    await session.logout();
    await api.get('/x').catch(() => undefined);
    expect(session.getTokens()).toBeNull();
    expect(sent).not.toContain('Bearer access-A');
    expect(seen.tokens.at(-1)).toBeNull();
  });

  // Pins (passes on both). setTokens while the store's write never settles: after refreshTimeoutMs it rejects with
  // STORE_FAILED, nothing is adopted, no `tokens` event, and requests go on with the tokens in use.
  it('setTokens(B) while the store write hangs: STORE_FAILED after refreshTimeoutMs, A stays in use, no event', async () => {
    const store = new FlakyStore(A);
    const session = createTokenSession({
      tokens: A,
      store,
      refresh: async () => ({ accessToken: 'never' }),
      refreshTimeoutMs: 150,
    });
    const seen = watch(session);
    const { api, sent } = apiOn(session);
    await session.getAccessToken();
    store.mode = 'hang';
    await expect(session.setTokens(B)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await api.get('/x');
    expect(session.getTokens()?.accessToken).toBe('access-A');
    expect(sent).toEqual(['Bearer access-A']);
    expect(seen.tokens).toEqual([]);
  });

  // Pins (passes on both). logout() while a refresh hangs and the store's writes hang: the waiting request fails with
  // LOGGED_OUT at once; logout waits for the lock (the refresh times out first), its write times out, and it clears
  // locally. Last event: null; the next request goes out without a token; the refresh's late answer is not adopted.
  it('logout() while a refresh hangs and store writes hang: LOGGED_OUT for the waiter, last event null, late answer ignored', async () => {
    const store = new FlakyStore({ ...A, expiresAt: Date.now() - 1 });
    const late = gate();
    const session = createTokenSession({
      tokens: { ...A, expiresAt: Date.now() - 1 },
      store,
      refresh: async () => {
        await late.promise;
        return { accessToken: 'access-late', refreshToken: 'refresh-late' };
      },
      refreshTimeoutMs: 200,
    });
    const seen = watch(session);
    const { api, sent } = apiOn(session);
    const waiting = api.get('/x').then(
      () => 'sent',
      (error: { code?: string }) => error.code,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    store.mode = 'hang';
    const out = session.logout({ revoke: false });
    expect(await waiting).toBe('LOGGED_OUT');
    await out;
    late.open();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await api.get('/y').catch(() => undefined);
    expect(session.getTokens()).toBeNull();
    expect(sent.filter((header) => header !== null)).toEqual([]);
    expect(seen.tokens.at(-1)).toBeNull();
  });
});

describe('logout() after a refresh whose store write failed', () => {
  // FINDING (also on 93572f1). A refresh rotated A into N but the store could not record N (#commit's store-failure
  // path: N is used at the store's version, "the next refresh starts from them"). logout() then revokes what it READS
  // from the store: the spent A, not N. N, the live refresh token, stays valid at the server after "Sign out".
  // #refreshUnderLock already prefers the session's own tokens at the same version; #logout's clear() does not.
  it('revokes the tokens in use (N), not the spent ones the store still holds (A)', async () => {
    const store = new FlakyStore(A);
    const revoked: (string | undefined)[] = [];
    const refresh = Object.assign(
      async () => {
        store.mode = 'reject';
        return { accessToken: 'access-N', refreshToken: 'refresh-N' };
      },
      {
        revoke: async (tokens: TokenSet) => {
          revoked.push(tokens.refreshToken);
          return true;
        },
      },
    );
    const session = createTokenSession({ tokens: A, store, refresh });
    const seen = watch(session);
    await session.refresh();
    expect(seen.errors).toContain('STORE_FAILED');
    expect(session.getTokens()?.refreshToken).toBe('refresh-N');
    store.mode = 'ok';
    const result = await session.logout();
    expect(result.revoked).toBe(true);
    expect(revoked).toEqual(['refresh-N']);
    expect(session.getTokens()).toBeNull();
  });
});

// ---- the file store after the plumbing moved to src/shared-store.ts (real files in a temporary directory) ----------

const dir = mkdtempSync(join(tmpdir(), 'review-craft-final-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const nextPath = (): string => join(dir, `tokens-${++files}.json`);

describe('file store: close(), listeners, and out-of-date announcements', () => {
  // Pins (passes on both). close() while this handle waits for a lock another handle holds: the wait ends at once
  // with STORE_FAILED (not after waitMs), the task never runs, and the lock is not disturbed for its holder or the
  // next taker. 93572f1: the same.
  it('close() during a lock wait rejects the waiter at once, runs nothing, and leaves the holder its lock', async () => {
    const path = nextPath();
    const holder = createFileTokenStore({ path });
    const waiter = createFileTokenStore({ path });
    const held = gate();
    const release = gate();
    const holding = holder.withLock(
      async () => {
        held.open();
        await release.promise;
        return 'held';
      },
      { leaseMs: 10_000, waitMs: 10_000 },
    );
    await held.promise;
    // The waiter's first failed try for the lock: from then on it is in its lock wait (a fixed 50 ms once did not
    // cover the directory and reserve-space I/O before the wait on a loaded machine; see test/found/).
    const tries = vi.spyOn(FileLease.prototype, 'tryAcquire');
    let ran = false;
    const waiting = waiter
      .withLock(
        async () => {
          ran = true;
        },
        { leaseMs: 10_000, waitMs: 8_000 },
      )
      .then(
        () => 'ran',
        (error: { code?: string }) => error.code,
      );
    await until(() => tries.mock.results.some((result) => result.type === 'return' && result.value === undefined));
    tries.mockRestore();
    const closing = Date.now();
    await waiter.close();
    expect(await waiting).toBe('STORE_FAILED');
    expect(Date.now() - closing).toBeLessThan(2_000); // at once, not after waitMs (8 s)
    expect(ran).toBe(false);
    release.open();
    expect(await holding).toBe('held');
    const next = createFileTokenStore({ path });
    expect(await next.withLock(async () => 'next', { leaseMs: 5_000, waitMs: 1_000 })).toBe('next');
    await Promise.all([holder.close(), next.close()]);
  });

  // Pins (passes on both). A listener that unsubscribes itself and subscribes another one from inside its callback (the
  // listener set empties for a moment, which stops the poll timer): the new listener hears the next write from
  // another handle, heard by polling alone where fs.watch is missed. 93572f1: the same.
  it('unsubscribe + subscribe inside a listener: the new listener hears the next writes', async () => {
    const path = nextPath();
    const reader = createFileTokenStore({ path, pollIntervalMs: 10 });
    const writer = createFileTokenStore({ path });
    const heardByFirst: number[] = [];
    const heardBySecond: number[] = [];
    const stop = reader.subscribe?.((stored) => {
      heardByFirst.push(stored.version);
      stop?.();
      reader.subscribe?.((again) => heardBySecond.push(again.version));
    });
    await writer.write(A, 0);
    await until(() => heardByFirst.length === 1);
    await writer.write(B, 1);
    await until(() => heardBySecond.includes(2));
    expect(heardByFirst).toEqual([1]);
    await Promise.all([reader.close(), writer.close()]);
  });

  // Pins the claim "an out-of-date announcement is harmless: sessions re-read a lower version" (passes on both, as far
  // as this race is reached: the poll's read and this handle's writes interleave on a 10 ms poll). A session on one
  // handle logs in over and over while another handle (another process's) writes; the session ends with the file's
  // record, and its last `tokens` event names it.
  it('a session on a polling handle converges on the file record while another handle writes in between', async () => {
    const path = nextPath();
    const mine = createFileTokenStore({ path, pollIntervalMs: 10 });
    const other = createFileTokenStore({ path });
    const session = createTokenSession({ tokens: null, store: mine, refresh: async () => ({ accessToken: 'never' }) });
    const seen = watch(session);
    for (let i = 0; i < 30; i += 1) {
      const login = session.setTokens({ accessToken: `mine-${i}` });
      const current = await other.read();
      await other.write({ accessToken: `other-${i}` }, current.version);
      await login.catch(() => undefined);
    }
    const last = await other.read();
    await until(() => session.getTokens()?.accessToken === last.tokens?.accessToken);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(session.getTokens()?.accessToken).toBe(last.tokens?.accessToken);
    expect(seen.tokens.at(-1)).toBe(last.tokens?.accessToken);
    await session.close();
    await Promise.all([mine.close(), other.close()]);
  });
});
