// Found (s8 timing audit, product bug in FileTokenStore#withLock): close() does not reach a withLock() that has not yet
// entered its lock wait. withLock awaits #ensureDirectory() and #reserveSpace() (file I/O) before
// `#life.abortable(...)` registers its AbortController; a close() in that window aborts nothing, so the call then waits
// for the lock on a closed store for its whole `waitMs` (REFRESH_TIMEOUT, not STORE_FAILED), or, when the lock is free,
// takes it and runs the task after close(). docs/file-store.md: "close() ... aborts waiters and lock holders
// (STORE_FAILED), and fails every later call". (The Redis and browser stores enter `abortable` synchronously.)
// Seen as a flake of test/review-craft-final.test.ts "close() during a lock wait ..." under CPU load: its fixed 50 ms
// sleep did not always cover the I/O before the wait. Here close() follows withLock() in the same tick: deterministic.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createFileTokenStore } from '../src/file.js';

const dir = mkdtempSync(join(tmpdir(), 'found-close-lock-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const nextPath = (): string => join(dir, `tokens-${++files}.json`);

const codeOf = (call: Promise<unknown>): Promise<string | undefined> =>
  call.then(
    () => 'resolved',
    (error: { code?: string }) => error.code,
  );

it('close() right after withLock() (lock held elsewhere) ends the wait with STORE_FAILED, not after waitMs', async () => {
  const path = nextPath();
  const holder = createFileTokenStore({ path });
  const waiter = createFileTokenStore({ path });
  let release!: () => void;
  let entered!: () => void;
  const holding = new Promise<void>((resolve) => (entered = resolve));
  const held = holder.withLock(
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
        entered();
      }),
    { leaseMs: 10_000, waitMs: 10_000 },
  );
  await holding;
  let ran = false;
  const started = performance.now();
  const waiting = codeOf(
    waiter.withLock(
      async () => {
        ran = true;
      },
      { leaseMs: 10_000, waitMs: 3_000 },
    ),
  );
  await waiter.close();
  const code = await waiting;
  const ms = performance.now() - started;
  release();
  await held;
  await holder.close();
  expect({ code, ran }).toEqual({ code: 'STORE_FAILED', ran: false });
  expect(ms).toBeLessThan(2_000); // at once; the bug waits out waitMs (3 s)
});

it('close() right after withLock() (lock free) runs nothing: the call fails with STORE_FAILED', async () => {
  const path = nextPath();
  const store = createFileTokenStore({ path });
  let ran = false;
  const call = codeOf(
    store.withLock(
      async () => {
        ran = true;
      },
      { leaseMs: 10_000, waitMs: 3_000 },
    ),
  );
  await store.close();
  expect({ code: await call, ran }).toEqual({ code: 'STORE_FAILED', ran: false });
});
