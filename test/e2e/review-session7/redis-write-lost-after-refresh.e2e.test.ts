// Finding (h3): when the store write that follows a successful refresh fails (Redis out of memory here; a network
// blip, a failover or a full disk for the file store do the same), the session keeps the rotated tokens in its own
// memory only, reports STORE_FAILED, and lets the refresh lock go at once. Redis still holds the spent refresh token,
// so the next process that needs a refresh takes the lock, reads it and presents it again: with reuse detection the
// whole fleet is logged out. The session that holds the only good refresh token does not write it back until its own
// next refresh.
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

describe('two processes sharing a Redis store when the write after a refresh fails', () => {
  it('never lets the other process present the refresh token the first one spent', async () => {
    const own = await startOwnRedis(); // our own redis-server: CONFIG SET never touches the shared one
    cleanups.push(() => own.dispose());
    const admin = new Redis(own.url);
    cleanups.push(() => admin.quit());
    const key = `write-lost-${randomUUID()}`;
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
    const rotate = (current: TokenSet): TokenSet => {
      presented.push(current.refreshToken ?? '');
      next += 1;
      return { accessToken: `a${next}`, refreshToken: `r${next}`, expiresAt: Date.now() + 3_600_000 };
    };
    const a = createTokenSession({
      store: storeA!,
      refreshTimeoutMs: 1000,
      refresh: async (current) => {
        const tokens = rotate(current); // the authorization server has rotated r0 now
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        await admin.config('SET', 'maxmemory', '1'); // Redis is full: the compare-and-set write is refused (OOM)
        return tokens;
      },
    });
    a.on('refreshError', () => undefined);
    const b = createTokenSession({
      store: storeB!,
      refreshTimeoutMs: 1000,
      refresh: async (current) => rotate(current),
    });

    await a.refresh().catch(() => undefined);
    expect(a.getTokens()?.refreshToken).toBe('r1'); // in use in process A, and nowhere else
    await admin.config('SET', 'maxmemory', '0'); // Redis has room again a moment later

    await b.refresh().catch(() => undefined); // process B's access token expired too
    expect(presented.filter((token) => token === 'r0')).toHaveLength(1);
  });
});
