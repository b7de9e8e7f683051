// A poll's read that a write of the same handle overtakes must not be announced: it would set back the version the
// listeners heard, and a login written later at that version (after the token file was deleted) would not be news,
// so a running service kept its old login (a CI run caught it, twice, in test/review-final.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import type { StoredTokens } from '../src/index.js';

/** The next open of `held.path` is kept from finishing its close until `held.release()`: a read stalled mid-way. */
const held = vi.hoisted(() => ({
  path: '',
  started: undefined as (() => void) | undefined,
  gate: undefined as Promise<void> | undefined,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (...args) => {
    const handle = await real.open(...args);
    const gate = held.gate;
    if (args[0] !== held.path || gate === undefined) return handle;
    held.gate = undefined;
    const close = handle.close.bind(handle);
    handle.close = async () => {
      held.started?.();
      await gate;
      return close();
    };
    return handle;
  };
  return { ...real, open, default: { ...real, open } };
});

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
    let releaseRead!: () => void;
    const readHeld = new Promise<void>((started) => {
      held.path = path;
      held.started = started;
      held.gate = new Promise<void>((release) => (releaseRead = release));
    });
    store.subscribe((record) => heard.push(record));
    await readHeld;
    expect(await store.write({ accessToken: 'old-2', refreshToken: 'r-2' }, 1)).toMatchObject({ version: 2 });
    releaseRead();
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
