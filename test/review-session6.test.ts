// review-session6: attacks on this session's fixes with real files and a real token server on 127.0.0.1 that rotates
// refresh tokens and revokes the grant when a spent one comes back (test/e2e/support/token-api.ts). Each test states
// what a user relies on and fails on the current code.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../src/index.js';
import type { TokenSet } from '../src/index.js';
import { createFileTokenStore } from '../src/file.js';
import type { ClosableTokenStore } from '../src/store.js';
import { INITIAL, refreshAt, startTokenApi, statusOf } from './e2e/support/token-api.js';
import type { TokenApi } from './e2e/support/token-api.js';

const root = mkdtempSync(join(tmpdir(), 'axios-token-refresh-review-session6-'));
let files = 0;
const nextPath = (): string => join(root, `login-${(files += 1)}`, 'tokens.json');
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function attachToApi(api: TokenApi, store: ClosableTokenStore, refresh = refreshAt(api)) {
  const instance = axios.create({ baseURL: api.url });
  const attached = attachRefresh(instance, {
    store,
    refreshTimeoutMs: 3000,
    refresh,
  });
  cleanups.push(() => attached.close());
  return { instance, attached };
}

async function seed(path: string, tokens: TokenSet = INITIAL): Promise<void> {
  const store = createFileTokenStore({ path });
  expect(await store.write(tokens, 0)).not.toBeNull();
  await store.close();
}

/** `cp tokens.json.bak tokens.json`, atomically (as a backup tool or a dotfiles sync would put the file back). */
async function putBack(path: string, backup: string): Promise<void> {
  await writeFile(`${path}.restore`, backup, { mode: 0o600 });
  await rename(`${path}.restore`, path);
}

function fileStore(path: string): ClosableTokenStore {
  const store = createFileTokenStore({ path, pollIntervalMs: 20 });
  cleanups.push(() => store.close());
  return store;
}

describe('the token file put back from an older backup (docs/stores.md, the backup paragraph)', () => {
  // Finding (HIGH): the backup lands while a refresh is in flight (a slow token endpoint). The server spends refresh-1
  // and issues refresh-2; the compare-and-set write of refresh-2 (expected version 2) finds the backup's version 1
  // and fails; Session#commit -> #catchUp reads version 1 and #adoptFromElsewhere ignores it (below ours), so
  // refresh-2 is thrown away and the session keeps refresh-1. The replay gets 401 with access-1; the next refresh
  // refuses the backup's refresh-0 as spent, "writes back" refresh-1 and presents it a second time: reuse, the grant
  // is revoked (the request fails SESSION_EXPIRED). The tokens a refresh just obtained are the only good ones.
  it('a backup put back while a refresh is in flight: the new tokens are kept, no spent refresh token is presented', async () => {
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const path = nextPath();
    await seed(path);
    const backup = await readFile(path, 'utf8'); // version 1: access-0 / refresh-0
    // The second refresh is held after the token endpoint answered until the backup is back: the put-back lands while
    // it is in flight (a fixed 250 ms into a 600 ms answer assumed the request had reached the endpoint by then).
    const toEndpoint = refreshAt(api);
    let calls = 0;
    let inFlight!: () => void;
    const refreshing = new Promise<void>((resolve) => (inFlight = resolve));
    let putBackDone!: () => void;
    const backInPlace = new Promise<void>((resolve) => (putBackDone = resolve));
    const { instance } = attachToApi(api, fileStore(path), async (current, context) => {
      calls += 1;
      if (calls === 1) return toEndpoint(current, context);
      inFlight();
      const [tokens] = await Promise.all([toEndpoint(current, context), backInPlace]);
      return tokens;
    });
    expect(await statusOf(instance, '/api/first')).toBe(200); // refresh-0 -> refresh-1, version 2

    api.expireAccess();
    const during = statusOf(instance, '/api/during');
    await refreshing; // refresh-1 is on its way to the token endpoint
    await putBack(path, backup);
    putBackDone();
    const duringStatus = await during;
    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([
      ['refresh-0', 'rotated'],
      ['refresh-1', 'rotated'],
    ]);
    expect(api.revoked()).toBe(false);
    expect(duringStatus).toBe(200);
  });

  // Finding (MEDIUM): the running process hears the put-back file (the file store announces it), refuses it as spent
  // (Session#onStoreWrite -> #adoptReset returns false) and does nothing more: the spent record stays in the file. The
  // docs say "The session then writes its own tokens back over it"; that only happens under the lock at its next
  // refresh, up to an access-token lifetime later. Meanwhile a CLI invocation (a new process) reads the file,
  // refreshes with refresh-0 and the grant is revoked for everyone.
  it('the process that hears the put-back file writes its tokens back, so the next process never reads the spent ones', async () => {
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const path = nextPath();
    await seed(path);
    const backup = await readFile(path, 'utf8');
    const { instance } = attachToApi(api, fileStore(path));
    expect(await statusOf(instance, '/api/first')).toBe(200);

    await putBack(path, backup);
    // Many polls: until the running process has heard it and written back (up to 5 s, not a fixed 500 ms).
    for (let waited = 0; (await readFile(path, 'utf8')).includes('refresh-0') && waited < 5_000; waited += 50) {
      await sleep(50);
    }
    expect(await readFile(path, 'utf8')).not.toContain('refresh-0');

    const { instance: next } = attachToApi(api, fileStore(path)); // the next invocation of the CLI
    await statusOf(next, '/api/next');
    expect(api.revoked()).toBe(false);
  });

  // Finding (MEDIUM): two services on one token file, the second started (or restarted by a deploy) after the backup
  // was taken but long before it is put back. Both hear the put-back file; the older one refuses it, the younger one
  // never saw refresh-0 replaced (it loaded refresh-1), takes the backup for a new login (#adoptReset), sends access-0,
  // gets 401 and refreshes with refresh-0: reuse, revoked for everyone. docs/stores.md names as the limit only a backup
  // "that only a process started since then reads"; here the long-running process read it too. A record that is older
  // than the tokens held (its expiresAt, or a write time kept in the record) is no login.
  it('a service started after the backup was taken does not adopt it while an older service refuses it', async () => {
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const path = nextPath();
    await seed(path);
    const backup = await readFile(path, 'utf8');
    const { instance: older } = attachToApi(api, fileStore(path));
    expect(await statusOf(older, '/api/first')).toBe(200); // refresh-0 -> refresh-1
    const { instance: younger } = attachToApi(api, fileStore(path)); // loads refresh-1 from the file
    expect(await statusOf(younger, '/api/younger')).toBe(200);

    await putBack(path, backup);
    await sleep(500);
    const after = [await statusOf(younger, '/api/after'), await statusOf(older, '/api/after')];
    expect(api.refreshRequests.filter((r) => r.outcome !== 'rotated')).toEqual([]);
    expect(api.revoked()).toBe(false);
    expect(after).toEqual([200, 200]);
  });
});

describe('a new login after the store was emptied (docs/stores.md: "adopted when it is new to the session")', () => {
  // Finding (LOW): refresh tokens that do not rotate (Keycloak offline tokens, Google, a service account's refresh
  // token kept in a secret). Service A logs out without revocation (the token stays valid); the token file is removed;
  // service B logs in again with the same refresh token (from its secret). A hears the new record at version 1, below
  // its own, and refuses it because it saw that refresh token "replaced" (by null, at its logout): A stays logged out
  // while B is logged in, until some write lands above A's version. The docs' reason ("its refresh token is spent") is
  // not true of a logout without revocation, nor of a token that does not rotate.
  it('a session that logged out without revoking adopts a new login that carries the same (non-rotating) refresh token', async () => {
    const path = nextPath();
    const token = { accessToken: 'offline-access-1', refreshToken: 'offline-refresh', expiresAt: Date.now() + 600_000 };
    const nonRotating = async (current: TokenSet): Promise<TokenSet> => ({
      accessToken: `offline-access-${Date.now()}`,
      refreshToken: current.refreshToken ?? 'offline-refresh',
      expiresAt: Date.now() + 600_000,
    });
    await seed(path, token);
    const a = attachRefresh(axios.create({ baseURL: 'http://127.0.0.1:9' }), {
      store: fileStore(path),
      refresh: nonRotating,
    });
    cleanups.push(() => a.close());
    await a.refresh(); // a few refreshes: the refresh token never changes
    await a.refresh();
    await a.logout({ revoke: false });
    expect(a.getTokens()).toBeNull();

    await rm(path, { force: true }); // the operator empties the store
    await sleep(200);
    const bStore = fileStore(path);
    const b = attachRefresh(axios.create({ baseURL: 'http://127.0.0.1:9' }), { store: bStore, refresh: nonRotating });
    cleanups.push(() => b.close());
    await b.setTokens({ ...token, accessToken: 'offline-access-login' });
    // Many polls: until `a` has heard the login (up to 5 s, not a fixed 500 ms).
    for (let waited = 0; a.getTokens()?.accessToken !== 'offline-access-login' && waited < 5_000; waited += 50) {
      await sleep(50);
    }
    expect(a.getTokens()?.accessToken).toBe('offline-access-login');
  });
});
