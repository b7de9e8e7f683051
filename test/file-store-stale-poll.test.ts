// A poll's read that a write of the same handle overtakes must not be announced: it would set back the version the
// listeners heard, and a login written later at that version (after the token file was deleted) would not be news,
// so a running service kept its old login (a CI run caught it, twice, in test/review-final.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import type { StoredTokens } from '../src/index.js';
import { holdNextRead } from './support/held-read.js';

vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('./support/held-read.js')).withHeldReads(await importOriginal()),
);

const { createFileTokenStore } = await import('../src/file.js');

const root = mkdtempSync(join(tmpdir(), 'axios-token-refresh-stale-poll-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a poll read overtaken by our own write is not announced, and a re-login at a lower version after the file was deleted is', async () => {
  const path = join(root, 'tokens.json');
  const store = createFileTokenStore({ path, watch: false, pollIntervalMs: 10 });
  const other = createFileTokenStore({ path, watch: false, pollIntervalMs: 10 });
  try {
    await store.write({ accessToken: 'old-1', refreshToken: 'r-1' }, 0); // version 1
    const heard: StoredTokens[] = [];
    // The poll's next read of the file is held after reading version 1, until our write of version 2 has landed.
    const read = holdNextRead(path);
    store.subscribe((record) => heard.push(record));
    await read.held;
    expect(await store.write({ accessToken: 'old-2', refreshToken: 'r-2' }, 1)).toMatchObject({ version: 2 });
    read.release();
    await new Promise((done) => setTimeout(done, 100)); // several polls
    expect(heard).toEqual([]); // version 1 is older than what we wrote: no news

    // The operator deletes the file; another process logs in on a fresh handle: version 1 again, other tokens.
    await rm(path);
    await other.write({ accessToken: 'new-login', refreshToken: 'new-r' }, 0);
    for (let waited = 0; heard.length === 0 && waited < 5_000; waited += 20) {
      await new Promise((done) => setTimeout(done, 20));
    }
    expect(heard.map((record) => [record.version, record.tokens?.accessToken])).toEqual([[1, 'new-login']]);
  } finally {
    await store.close();
    await other.close();
  }
});
