// Session 7 break-it review.
// Finding (h3): on a (nearly) full disk the file store lets the session spend the refresh token and then cannot record
// the new one. The refresh lock (one small file) is taken, the refresh runs and rotates the refresh token at the
// server, then the write lock / temporary token file fail with ENOSPC. The process goes on with the new tokens in
// memory only (a CLI prints its result and exits 0); the file keeps the spent refresh token, so the next run presents
// it again and a server with reuse detection revokes the login. It also leaves the refresh lock and two empty
// temporary files behind.
//
// Needs root (it mounts a 16 KiB tmpfs, as a full disk); skipped otherwise.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSession } from '../../src/index.js';
import type { TokenSet } from '../../src/index.js';
import { createFileTokenStore } from '../../src/file.js';

const isRoot = process.getuid?.() === 0;
const mountPoint = mkdtempSync(join(tmpdir(), 'axios-token-refresh-found-full-'));
let mounted = false;

beforeAll(() => {
  if (!isRoot) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs', mountPoint]);
  mounted = true;
});
afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('createFileTokenStore() on a disk that is full', () => {
  it('never presents a refresh token it cannot replace in the file (the next run would present it again)', async () => {
    const dir = join(mountPoint, 'my-cli');
    mkdirSync(dir, { mode: 0o700 });
    const path = join(dir, 'tokens.json');
    writeFileSync(path, JSON.stringify({ version: 1, tokens: { accessToken: 'a0', refreshToken: 'r0' } }), {
      mode: 0o600,
    });
    // Two of the four 4 KiB pages are taken by other files: room for the refresh lock, not for the write as well.
    writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(8192));

    const presented: string[] = [];
    const refresh = async (current: TokenSet): Promise<TokenSet> => {
      presented.push(current.refreshToken ?? '');
      return { accessToken: 'a1', refreshToken: 'r1', expiresAt: Date.now() + 3_600_000 };
    };
    const store = createFileTokenStore({ path });
    const session = createTokenSession({ store, refresh });
    await session.refresh().catch(() => undefined);
    await store.close();

    const inFile = JSON.parse(readFileSync(path, 'utf8')).tokens.refreshToken as string;
    // Either the refresh was refused before r0 was presented, or the file holds the refresh token that replaced it.
    expect(presented).not.toContain(inFile);
    expect(readdirSync(dir).sort()).toEqual(['tokens.json']);
  });
});
