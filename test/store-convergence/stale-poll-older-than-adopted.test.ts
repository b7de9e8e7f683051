/**
 * Suspected (s8-stores review, item (c)), REFUTED: a file-store poll whose read is overtaken by a newer record that the
 * session already adopted (through its own read under the lock) announces the older record; the session must not
 * adopt it, write over the newer one, or refresh, and the store must still pass on the next write.
 *
 * Forced interleaving: the poll's read of version 2 is held (its file handle's close waits on a gate) while another
 * handle writes version 3 and the session adopts version 3 through `refresh()` (under the lock: "adopted"); then the
 * read is let go and the store announces version 2 (below the session's 3). Passes on the current code: the session
 * checks a lower version with a read (`#onStoreWrite`), finds 3, and does nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import type { StoredTokens } from '../../src/index.js';
import { holdNextRead } from '../support/held-read.js';

vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../support/held-read.js')).withHeldReads(await importOriginal()),
);

const { createFileTokenStore } = await import('../../src/file.js');
const { createTokenSession } = await import('../../src/index.js');

const root = mkdtempSync(join(tmpdir(), 'atr-found-stale-older-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const tokens = (n: number) => ({ accessToken: `a${n}`, refreshToken: `r${n}`, expiresAt: Date.now() + 3_600_000 });

it('a poll announcing a record older than the one the session adopted changes nothing, and the next write is heard', async () => {
  const path = join(root, 'tokens.json');
  const other = createFileTokenStore({ path, watch: false });
  const store = createFileTokenStore({ path, watch: false, pollIntervalMs: 10 });
  let refreshes = 0;
  const session = createTokenSession({
    store,
    refresh: async () => {
      refreshes += 1;
      return tokens(100);
    },
  });
  const heard: StoredTokens[] = [];
  store.subscribe((record) => heard.push(record));
  try {
    await other.write(tokens(1), 0);
    expect(await session.getAccessToken()).toBe('a1');
    await sleep(50);
    await other.write(tokens(2), 1);
    const read = holdNextRead(path);
    await read.held; // the poll has read version 2 and is held
    await other.write(tokens(3), 2);
    await session.refresh(); // under the lock: version 3 is there, adopted without a refresh
    expect(session.getTokens()?.accessToken).toBe('a3');
    read.release();
    for (let waited = 0; !heard.some((r) => r.version === 2) && waited < 2_000; waited += 10) await sleep(10);
    expect(heard.map((record) => record.version)).toContain(2); // the stale record was announced...
    await sleep(200);
    expect(session.getTokens()?.accessToken).toBe('a3'); // ...and not adopted
    expect(JSON.parse(await readFile(path, 'utf8')).version).toBe(3); // nothing written over version 3
    expect(refreshes).toBe(0);
    await other.write(tokens(4), 3);
    for (let waited = 0; session.getTokens()?.accessToken !== 'a4' && waited < 2_000; waited += 10) await sleep(10);
    expect(session.getTokens()?.accessToken).toBe('a4');
  } finally {
    await session.close();
    await store.close();
    await other.close();
  }
});
