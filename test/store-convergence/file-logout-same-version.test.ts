/**
 * Found (s8 hostile review of e6bfe51, LOW-MEDIUM): the null twin of the same-version re-login that e6bfe51 fixed. A
 * LOGOUT written at the version a running daemon holds is announced (the file store now passes on other contents at
 * the version heard) but the session drops it: `#otherLogin` is false for null tokens, and `#onStoreWrite` ignores any
 * other record at its own version. The daemon keeps sending the signed-out access token, and its next refresh, under
 * the lock, finds the version equal to its own, refreshes from ITS tokens ("at the same version ours are the same
 * tokens") and writes the signed-out login back over the logout, for every process.
 *
 * Sequence: `my-cli login` writes Alice at 1; a daemon starts (version 1). The user removes the token file and runs
 * `my-cli logout` to be sure (a fresh process: it reads no file, version 0, and writes `{ tokens: null, version: 1,
 * ended: 'logout' }`). docs/api.md: logout "clears the tokens everywhere the session is shared".
 *
 * Real parts: a real token file, login and logout in real child processes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenSession } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { createFileTokenStore } from '../../src/file.js';

const root = mkdtempSync(join(tmpdir(), 'atr-found-logout-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const tsx = resolve('node_modules/.bin/tsx');

function run(args: string[]): number {
  const child = spawnSync(tsx, args, { encoding: 'utf8', timeout: 20_000 });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as number;
}

describe('a logout written at the version a running daemon holds', () => {
  it('logs the daemon out, and its next refresh does not write the old login back', async () => {
    const path = join(root, 'tokens.json');
    expect(
      run([resolve('test/support/cli-login.mts'), resolve('src/file.ts'), path, 'alice-access', 'alice-refresh']),
    ).toBe(1);
    const store = createFileTokenStore({ path, pollIntervalMs: 20 });
    const presented: (string | undefined)[] = [];
    const session = createTokenSession({
      store,
      refresh: async (current: TokenSet) => {
        presented.push(current.refreshToken);
        return { accessToken: `${current.refreshToken}-access'`, refreshToken: `${current.refreshToken}'` };
      },
    });
    try {
      expect(await session.getAccessToken()).toBe('alice-access');
      await sleep(200); // the daemon's store has polled the file

      await rm(path);
      const logoutArgs = [
        resolve('test/support/cli-logout.mts'),
        resolve('src/index.ts'),
        resolve('src/file.ts'),
        path,
      ];
      expect(run(logoutArgs)).toBe(1); // the logout lands at version 1, the daemon's version
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ tokens: null, version: 1, ended: 'logout' });
      for (let waited = 0; session.getTokens() !== null && waited < 3_000; waited += 50) await sleep(50);
      expect.soft(session.getTokens()).toBeNull(); // the daemon heard the logout

      // Whatever it heard, its next refresh must not sign Alice back in for every process.
      await session.refresh().catch(() => undefined);
      expect.soft(presented).toEqual([]);
      expect(JSON.parse(await readFile(path, 'utf8')).tokens).toBeNull();
    } finally {
      await session.close();
      await store.close();
    }
  });
});
