/**
 * Found (s8 store review, HIGH): a login written at the version a running process already holds is never heard, and
 * that process's next refresh writes its OLD login back over the new one.
 *
 * The token file is deleted (the operator "logs everyone out by hand", or a user switches accounts with
 * `rm tokens.json && my-cli login`). `my-cli login` runs in a fresh process, whose handle never saw a version: it writes
 * the new login at version 1 (docs/file-store.md: "a login after the file was deleted starts again at 1"). A daemon
 * that holds version 1 (it started after the previous login, before any refresh; or it adopted a previous re-login,
 * which is version 1 too) never learns of it, twice over:
 *   - the file store announces only a version other than the one it last heard (`#checkOnce`): 1 === 1, no news;
 *   - the session ignores any announced record at its own version (`#onStoreWrite`: `stored.version === this.#version`).
 * The daemon goes on sending the old account's access token, and its next refresh, under the lock, finds version 1 ==
 * its own, so refreshes from ITS tokens (`#refreshUnderLock`: "at the same version ours are the same tokens") and
 * writes the old account's new tokens over the new login: every process, the CLI included, is switched back.
 *
 * Real parts: a real token file, `my-cli login` in real child processes (test/support/cli-login.mts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenSession } from '../../src/index.js';
import type { TokenSession, TokenSet } from '../../src/index.js';
import { createFileTokenStore } from '../../src/file.js';
import { cleanupAfterEach } from '../support/cleanups.js';

const root = mkdtempSync(join(tmpdir(), 'atr-found-relogin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const defer = cleanupAfterEach();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
let files = 0;

/** `my-cli login` in its own process; returns the version it wrote. */
function cliLogin(path: string, access: string, refresh: string): number {
  const run = spawnSync(
    resolve('node_modules/.bin/tsx'),
    [resolve('test/support/cli-login.mts'), resolve('src/file.ts'), path, access, refresh],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout.trim()) as number;
}

/** A daemon: a session on the token file whose refresh records the refresh token presented. */
function daemon(path: string): { session: TokenSession; presented: (string | undefined)[] } {
  const presented: (string | undefined)[] = [];
  const store = createFileTokenStore({ path, pollIntervalMs: 20 });
  const session = createTokenSession({
    store,
    refresh: async (current: TokenSet) => {
      presented.push(current.refreshToken);
      return {
        accessToken: `${current.refreshToken}-access'`,
        refreshToken: `${current.refreshToken}'`,
        expiresAt: Date.now() + 3_600_000,
      };
    },
  });
  defer(async () => {
    await session.close();
    await store.close();
  });
  return { session, presented };
}

async function until(done: () => boolean, ms = 3_000): Promise<void> {
  for (let waited = 0; !done() && waited < ms; waited += 50) await sleep(50);
}

describe('a re-login after the token file was deleted, at the version a running daemon holds', () => {
  it('is adopted by a daemon that started after the previous login (both at version 1)', async () => {
    const path = join(root, `tokens-${(files += 1)}.json`);
    expect(cliLogin(path, 'alice-access', 'alice-refresh')).toBe(1);
    const { session, presented } = daemon(path);
    expect(await session.getAccessToken()).toBe('alice-access');
    await sleep(200); // the daemon's store has polled the file

    await rm(path); // the user logs out by hand...
    expect(cliLogin(path, 'bob-access', 'bob-refresh')).toBe(1); // ...and logs in as someone else: version 1 again
    await until(() => session.getTokens()?.accessToken === 'bob-access');
    // What the daemon sends now: Bob's login, not Alice's.
    expect.soft(session.getTokens()?.accessToken).toBe('bob-access');

    // And its next refresh does not put Alice back over Bob's login.
    await session.refresh();
    expect.soft(presented).toEqual(['bob-refresh']);
    expect(JSON.parse(await readFile(path, 'utf8')).tokens.refreshToken).toBe("bob-refresh'");
  });

  it('is adopted by a daemon that adopted a previous re-login (the second `rm && login` lands at version 1 again)', async () => {
    const path = join(root, `tokens-${(files += 1)}.json`);
    expect(cliLogin(path, 'alice-access', 'alice-refresh')).toBe(1);
    const { session, presented } = daemon(path);
    await session.getAccessToken();
    await session.refresh(); // version 2
    await session.refresh(); // version 3
    expect(session.getTokens()?.refreshToken).toBe("alice-refresh''");

    await rm(path);
    expect(cliLogin(path, 'bob-access', 'bob-refresh')).toBe(1);
    await until(() => session.getTokens()?.accessToken === 'bob-access');
    expect(session.getTokens()?.accessToken).toBe('bob-access'); // a lower version: this one is heard (fixed in 727404c)

    await rm(path);
    expect(cliLogin(path, 'carol-access', 'carol-refresh')).toBe(1);
    await until(() => session.getTokens()?.accessToken === 'carol-access');
    expect.soft(session.getTokens()?.accessToken).toBe('carol-access');

    await session.refresh();
    expect.soft(presented.at(-1)).toBe('carol-refresh');
    expect(JSON.parse(await readFile(path, 'utf8')).tokens.refreshToken).toBe("carol-refresh'");
  });
});
