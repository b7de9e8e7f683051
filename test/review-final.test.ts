// Adversarial review of the last hour's session and interceptor changes (review-final). Every test here fails on
// the branch it was written against; each names the behaviour that should hold.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import axios, { type AxiosAdapter } from 'axios';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh, createTokenSession } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('scope in Node without baseURL: the path fast path', () => {
  it('never sends the token to another origin that a path like `/\\host` or `/<tab>/host` reaches through a jsdom-like page (window and document, no global location)', () => {
    // The fixture starts two servers on 127.0.0.1, defines `window` (with `location`) and `document` before importing
    // axios, so that axios's Node adapter resolves paths against that page, then sends `/ok`, `/\<other>/x` and
    // `/<TAB>/<other>/y`. It prints the Authorization headers each server received.
    const run = spawnSync(
      resolve('node_modules/.bin/tsx'),
      [resolve('test/fixtures-review-final/jsdom-like-page.mts'), resolve('src/index.ts')],
      { timeout: 20_000, encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Record<string, (string | null)[]>;
    expect(seen).toEqual({ api: ['Bearer secret-access'], other: [null, null] });
  });
});

describe('a login releases the requests that wait', () => {
  it('lets a request waiting for a tokens loader go on after setTokens without any timer firing (fake timers in the app tests do not hang it)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sent: (string | undefined)[] = [];
    const adapter: AxiosAdapter = async (config) => {
      sent.push(config.headers.Authorization as string | undefined);
      return { data: {}, status: 200, statusText: 'OK', headers: {}, config };
    };
    const session = createTokenSession({
      tokens: () => new Promise(() => undefined), // a loader that never answers (the app's storage hangs)
      refresh: async () => ({ accessToken: 'never' }),
    });
    const instance = axios.create({ adapter });
    attachRefresh(instance, { session });
    let settled = false;
    const request = instance.get('/data').finally(() => {
      settled = true;
    });
    await session.setTokens({ accessToken: 'after-login' });
    // Plenty of turns of the event loop, none of them a (fake) timer.
    for (let turn = 0; turn < 50 && !settled; turn += 1) await new Promise((done) => setImmediate(done));
    expect({ settled, sent }).toEqual({ settled: true, sent: ['Bearer after-login'] });
    await request;
  });
});

describe('attachRefresh: the send guard decision (othersIntercept)', () => {
  it('sends requests on an instance whose request interceptor list the app had set to null (axios tolerates it and recreates the list)', async () => {
    const adapter: AxiosAdapter = async (config) => ({ data: {}, status: 200, statusText: 'OK', headers: {}, config });
    const instance = axios.create({ adapter });
    (instance.interceptors.request as unknown as { handlers: unknown }).handlers = null;
    attachRefresh(instance, { tokens: { accessToken: 'a1' }, refresh: async () => ({ accessToken: 'a2' }) });
    const response = await instance.get('/data');
    expect(response.config.headers.Authorization).toBe('Bearer a1');
  });
});

// ---- review4 (fresh eyes on the backup, grant-transport and file-store fixes) --------------------------------------

import { mkdtempSync as r4mkdtemp, rmSync as r4rm } from 'node:fs';
import { readFile as r4readFile, rm as r4rmAsync } from 'node:fs/promises';
import { tmpdir as r4tmpdir } from 'node:os';
import { join as r4join } from 'node:path';
import { afterAll as r4afterAll } from 'vitest';
import type { TokenSet as R4TokenSet } from '../src/index.js';
import { createFileTokenStore as r4fileStore } from '../src/file.js';
import type { ClosableTokenStore as R4Store } from '../src/store.js';

const r4root = r4mkdtemp(r4join(r4tmpdir(), 'axios-token-refresh-review4-'));
let r4files = 0;
const r4path = (): string => r4join(r4root, `login-${(r4files += 1)}`, 'tokens.json');
const r4sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const r4cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of r4cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
});
r4afterAll(() => r4rm(r4root, { recursive: true, force: true }));
function r4store(path: string): R4Store {
  const store = r4fileStore({ path, pollIntervalMs: 20 });
  r4cleanups.push(() => store.close());
  return store;
}

describe('review4: a new login after the token file was removed is a login, not a backup', () => {
  // Session#isBackup calls a lower-version record "an older backup" when its tokens expire before ours. A new login
  // made after the store was emptied legitimately expires sooner whenever the new access token is shorter-lived (a
  // different account or client, a device-code login with expires_in 900) or the other process's clock is a few seconds
  // behind ours. The running process then refuses the login and #putBack writes its OLD tokens over it: the user who
  // just logged in (possibly as someone else) is silently switched back to the old login, in every process.
  it('a running service adopts a re-login whose access token is shorter-lived than its own, and does not overwrite it', async () => {
    const path = r4path();
    let n = 0;
    const refresh = async (): Promise<R4TokenSet> => ({
      accessToken: `old-access-${(n += 1)}`,
      refreshToken: `old-refresh-${n}`,
      expiresAt: Date.now() + 3_600_000, // one hour, as the server grants on refresh
    });
    const a = attachRefresh(axios.create({ baseURL: 'http://127.0.0.1:9' }), { store: r4store(path), refresh });
    r4cleanups.push(() => a.close());
    await a.setTokens({
      accessToken: 'old-access-0',
      refreshToken: 'old-refresh-0',
      expiresAt: Date.now() + 3_600_000,
    });
    await a.refresh(); // version 2

    await r4rmAsync(path, { force: true }); // the operator empties the store (logs everyone out by hand)
    await r4sleep(100);
    // `mycli login` in another process: a fresh store, a new login whose access token lives 15 minutes.
    const b = attachRefresh(axios.create({ baseURL: 'http://127.0.0.1:9' }), { store: r4store(path), refresh });
    r4cleanups.push(() => b.close());
    await b.setTokens({
      accessToken: 'new-login-access',
      refreshToken: 'new-login-refresh',
      expiresAt: Date.now() + 900_000,
    });
    // Many polls: until `a` has heard of the login (a fixed 600 ms once fell short on a loaded CI machine, Node 22).
    await r4sleep(600);
    for (let waited = 0; a.getTokens()?.accessToken !== 'new-login-access' && waited < 5_000; waited += 100) {
      await r4sleep(100);
    }

    expect(await r4readFile(path, 'utf8')).toContain('new-login-refresh');
    expect(b.getTokens()?.accessToken).toBe('new-login-access');
    expect(a.getTokens()?.accessToken).toBe('new-login-access');
  });

  it('a re-login from a process whose clock is 5 s behind (same lifetime) is adopted, not overwritten', async () => {
    const path = r4path();
    const a = attachRefresh(axios.create({ baseURL: 'http://127.0.0.1:9' }), {
      store: r4store(path),
      refresh: async () => ({
        accessToken: 'old-access-1',
        refreshToken: 'old-refresh-1',
        expiresAt: Date.now() + 3_600_000,
      }),
    });
    r4cleanups.push(() => a.close());
    await a.setTokens({
      accessToken: 'old-access-0',
      refreshToken: 'old-refresh-0',
      expiresAt: Date.now() + 3_600_000,
    });
    await a.refresh(); // version 2, expires in one hour by our clock

    await r4rmAsync(path, { force: true });
    await r4sleep(100);
    const skew = 5_000; // the other machine's clock runs 5 s behind (NTP not yet synced)
    const b = attachRefresh(axios.create({ baseURL: 'http://127.0.0.1:9' }), {
      store: r4store(path),
      refresh: async () => ({ accessToken: 'x', refreshToken: 'y', expiresAt: Date.now() - skew + 3_600_000 }),
    });
    r4cleanups.push(() => b.close());
    await b.setTokens({
      accessToken: 'relogin-access',
      refreshToken: 'relogin-refresh',
      expiresAt: Date.now() - skew + 3_600_000,
    });
    // Many polls: until `a` has heard of the login (up to 5 s; a fixed 600 ms is the timing that fell short in the test
    // above on a loaded CI machine).
    for (let waited = 0; a.getTokens()?.accessToken !== 'relogin-access' && waited < 5_000; waited += 100) {
      await r4sleep(100);
    }

    expect(await r4readFile(path, 'utf8')).toContain('relogin-refresh');
    expect(a.getTokens()?.accessToken).toBe('relogin-access');
  });
});
