// Session 7, review of the fixes (r1, medium).
// The write-back (a failed store write after a refresh is retried under the lock) does not cover the tokens the
// "rotated refresh token in a refused answer" salvage keeps: when Redis refuses that write (OOM here, as in
// test/e2e/review-session7/redis-write-lost-after-refresh.e2e.test.ts), process A lets the lock go at once, Redis
// still holds the spent refresh token, and process B presents it again.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenSession } from '../../../src/index.js';
import type { TokenSet } from '../../../src/index.js';
import { createRedisTokenStore } from '../../../src/redis.js';
import { startOwnRedis } from '../support/redis-faults.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
});

describe('a rotated refresh token kept from a refused answer, when Redis refuses its write', () => {
  it('is written back before another process can take the lock and present the spent one', async () => {
    const own = await startOwnRedis();
    cleanups.push(() => own.dispose());
    const admin = new Redis(own.url);
    cleanups.push(() => admin.quit());
    const key = `r1-salvage-${randomUUID()}`;
    const clients = [new Redis(own.url), new Redis(own.url)];
    const [storeA, storeB] = clients.map((redis) => {
      const store = createRedisTokenStore({ redis, key, operationTimeoutMs: 1000, onError: () => undefined });
      cleanups.push(async () => {
        await store.close();
        await redis.quit();
      });
      return store;
    });
    await storeA!.write({ accessToken: 'a0', refreshToken: 'r0', expiresAt: Date.now() - 1000 }, 0);

    const presented: string[] = [];
    let next = 0;
    const a = createTokenSession({
      store: storeA!,
      refreshTimeoutMs: 1000,
      refresh: async (current): Promise<TokenSet> => {
        presented.push(current.refreshToken ?? '');
        next += 1;
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        await admin.config('SET', 'maxmemory', '1'); // Redis is full: the write that follows is refused
        // The server rotated r0; the app's mapping gives `expiresAt` in seconds: refused, r1 kept.
        return { accessToken: `a${next}`, refreshToken: `r${next}`, expiresAt: 1_900_000_000 };
      },
    });
    a.on('refreshError', () => undefined);
    const b = createTokenSession({
      store: storeB!,
      refreshTimeoutMs: 1000,
      refresh: async (current) => {
        presented.push(current.refreshToken ?? '');
        next += 1;
        return { accessToken: `a${next}`, refreshToken: `r${next}`, expiresAt: Date.now() + 3_600_000 };
      },
    });
    b.on('refreshError', () => undefined);

    const first = a.refresh().catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await admin.config('SET', 'maxmemory', '0'); // room again a moment later
    expect(await first).toMatchObject({ code: 'INVALID_TOKEN_RESPONSE' });
    expect(a.getTokens()?.refreshToken).toBe('r1');

    await b.refresh().catch(() => undefined);
    // Before the fix: ['r0', 'r0']. Now a holds the lock until r1 is written, and b adopts it instead of refreshing.
    expect(presented).toEqual(['r0']);
    expect(b.getTokens()?.refreshToken).toBe('r1');
  });
});
