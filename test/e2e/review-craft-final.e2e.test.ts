/**
 * Adversarial review of the issue-12 refactor ("craft"): the Redis store after its plumbing moved to
 * src/shared-store.ts (leases, the closed-store guard), against the real redis-server at 127.0.0.1:6379. Each test
 * says how 93572f1 behaved; failing tests are findings.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisTokenStore } from '../../src/redis.js';

const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.quit().catch(() => undefined)));
});

function client(): Redis {
  const redis = new Redis('redis://127.0.0.1:6379');
  clients.push(redis);
  return redis;
}

describe('Redis store: lease loss and close()', () => {
  // Pins (passes on both). A lock task that outlives its lease: its signal fires, another handle takes the lock and
  // writes, and the first holder's late write (at the version it read before) is refused by the compare-and-set
  // instead of landing over the new holder's. (A late write nobody raced still lands: writes are not fenced by the
  // lease, only by the version, in both versions; the session stops on the signal.) 93572f1: the same.
  it('a holder whose lease ran out learns it (signal), another takes the lock, and its stale write is refused', async () => {
    const key = `review-craft-final:${randomUUID()}`;
    const first = createRedisTokenStore({ redis: client(), key });
    const second = createRedisTokenStore({ redis: client(), key });
    let aborted = false;
    let lateWrite: string | undefined;
    // The late write waits for the other holder's write (not a fixed time, which a loaded machine can outlast: the
    // clean-clone CI run once had it land before the other holder had even got the lock).
    let secondWrote = (): void => undefined;
    const wrote = new Promise<void>((resolve) => {
      secondWrote = resolve;
    });
    // The other holder starts only once this one has read the version it will write at: on a loaded machine that read
    // could otherwise come after the other's write (seen once in a clean-clone CI run under Node 22), and a write at
    // that newer version rightly lands.
    let firstRead = (): void => undefined;
    const read = new Promise<void>((resolve) => {
      firstRead = resolve;
    });
    const slow = first.withLock(
      async ({ signal }) => {
        const lost = new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        });
        const current = await first.read();
        firstRead();
        // Both, whichever comes first: Redis expires the lease and this handle's own timer tells it, within moments.
        await Promise.race([Promise.all([wrote, lost]), new Promise((resolve) => setTimeout(resolve, 5_000))]);
        lateWrite = await first.write({ accessToken: 'late' }, current.version).then(
          (written) => (written === null ? 'refused' : 'written'),
          (error: { code?: string }) => error.code,
        );
      },
      { leaseMs: 200, waitMs: 1_000 },
    );
    await read;
    const taken = await second.withLock(
      async () => {
        await second.write({ accessToken: 'new' }, 0);
        secondWrote();
        return 'taken';
      },
      { leaseMs: 5_000, waitMs: 2_000 },
    );
    expect(taken).toBe('taken');
    await slow.catch(() => undefined);
    expect(aborted).toBe(true);
    expect(lateWrite).toBe('refused');
    expect((await second.read()).tokens?.accessToken).toBe('new');
    await Promise.all([first.close(), second.close()]);
  });

  // Pins (passes on both). close() while a withLock of this handle waits for another handle's lock: the wait ends at
  // once with STORE_FAILED, and every later call fails with STORE_FAILED naming close. 93572f1: the same.
  it('close() during a lock wait ends the wait at once; later calls fail with STORE_FAILED', async () => {
    const key = `review-craft-final:${randomUUID()}`;
    const holder = createRedisTokenStore({ redis: client(), key });
    const waiter = createRedisTokenStore({ redis: client(), key });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding!: () => void;
    const isHeld = new Promise<void>((resolve) => {
      holding = resolve;
    });
    const holderTask = holder.withLock(
      async () => {
        holding();
        await held;
      },
      { leaseMs: 10_000, waitMs: 1_000 },
    );
    await isHeld;
    const started = Date.now();
    const waiting = waiter
      .withLock(async () => 'ran', { leaseMs: 10_000, waitMs: 8_000 })
      .then(
        () => 'ran',
        (error: { code?: string }) => error.code,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await waiter.close();
    expect(await waiting).toBe('STORE_FAILED');
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(waiter.read()).rejects.toMatchObject({ code: 'STORE_FAILED' });
    release();
    await holderTask;
    await holder.close();
  });
});
