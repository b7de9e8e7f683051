/**
 * Found (s8 store review, HIGH): the Redis twin of test/store-convergence/file-relogin-same-version.test.ts. Redis loses its data
 * (a restart without persistence; FLUSHALL here, on a redis-server of the test's own), and the login is seeded again
 * by a fresh process (`my-cli login`, a deploy's seeding job): its store never saw a version, so the login lands at
 * version 1. A fleet process that holds version 1 (it started after the first login, before any refresh) hears the
 * announcement, reads it back, passes it on... and the session drops it: `#onStoreWrite` returns on
 * `stored.version === this.#version` without looking at the tokens. docs/stores.md: "The Redis store notices when a
 * read shows the version went back, and then passes on what is written there again"; "A record below the session's
 * version is adopted as a login made after the store was emptied". At the same version it is neither.
 *
 * The process keeps sending the old login, and its next refresh finds version 1 == its own under the lock, refreshes
 * from ITS old tokens and writes them over the new login, for the whole fleet.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../../src/index.js';
import type { TokenSet } from '../../../src/index.js';
import { createRedisTokenStore } from '../../../src/redis.js';
import { startOwnRedis } from '../support/redis-faults.js';
import { cleanupAfterEach } from '../../support/cleanups.js';

const defer = cleanupAfterEach();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A login made by a process of its own: a new client, a new store, read then compare-and-set, then gone. */
async function seedLogin(url: string, key: string, name: string): Promise<number | undefined> {
  const redis = new Redis(url);
  const store = createRedisTokenStore({ redis, key });
  try {
    const { version } = await store.read();
    const tokens = {
      accessToken: `${name}-access`,
      refreshToken: `${name}-refresh`,
      expiresAt: Date.now() + 3_600_000,
    };
    return (await store.write(tokens, version))?.version;
  } finally {
    await store.close();
    await redis.quit();
  }
}

describe('a login seeded again after Redis lost its data, at the version a fleet process holds', () => {
  it('is adopted, and that process never writes the old login back over it', async () => {
    const own = await startOwnRedis();
    defer(() => own.dispose());
    const admin = new Redis(own.url);
    defer(() => admin.quit());
    const key = `found-relogin-${randomUUID()}`;

    expect(await seedLogin(own.url, key, 'alice')).toBe(1);

    const redis = new Redis(own.url);
    const store = createRedisTokenStore({ redis, key });
    const presented: (string | undefined)[] = [];
    const session = createTokenSession({
      store,
      refresh: async (current: TokenSet) => {
        presented.push(current.refreshToken);
        return { accessToken: `${current.refreshToken}-access'`, refreshToken: `${current.refreshToken}'` };
      },
    });
    defer(async () => {
      await session.close();
      await store.close();
      await redis.quit();
    });
    expect(await session.getAccessToken()).toBe('alice-access');
    await sleep(100); // subscribed

    await admin.flushall(); // Redis lost its data
    expect(await seedLogin(own.url, key, 'bob')).toBe(1); // Bob logs in: version 1 again
    for (let waited = 0; session.getTokens()?.accessToken !== 'bob-access' && waited < 3_000; waited += 50) {
      await sleep(50);
    }
    expect.soft(session.getTokens()?.accessToken).toBe('bob-access');

    await session.refresh();
    expect.soft(presented).toEqual(['bob-refresh']);
    const record = JSON.parse((await admin.get(`axios-token-refresh:${key}:tokens`)) ?? 'null');
    expect(record?.tokens?.refreshToken).toBe("bob-refresh'");
  });
});
