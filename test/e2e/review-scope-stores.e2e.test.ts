// Adversarial review of the shared stores against a real redis-server of the test's own (review2). Every test here
// failed on the branch it was written against; each names the behaviour that should hold.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import axios from 'axios';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { refreshTokenGrant } from '../../src/oauth2.js';
import { createRedisTokenStore } from '../../src/redis.js';
import type { TokenRefreshError } from '../../src/errors.js';
import { startOwnRedis } from './support/redis-faults.js';
import { INITIAL, startTokenApi } from './support/token-api.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
});

/** The README's client set-up, `new Redis(url)` with ioredis defaults. */
function client(url: string): Redis {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  cleanups.push(() => redis.disconnect());
  return redis;
}

/** The ACL rules docs/sharing.md tells users to give the store's Redis user, as written there. */
function documentedAclRules(): string[] {
  const markdown = readFileSync(resolve('docs/sharing.md'), 'utf8');
  const command = /`ACL SETUSER tokens on >…([^`]*)`/.exec(markdown.replace(/\n\s*/g, ' '))?.[1];
  if (command === undefined) throw new Error('docs/sharing.md no longer shows an `ACL SETUSER tokens on >… …` command');
  return command.trim().split(/\s+/);
}

describe('the Redis store with the ACL user docs/sharing.md recommends', () => {
  it('releases its lock after a refresh (the lock is not left to its lease) and reports no store error', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.dispose());
    const admin = client(redis.url);
    await admin.call('ACL', 'SETUSER', 'tokens', 'on', '>review2-password', ...documentedAclRules());
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const key = `review2-acl-${randomUUID()}`;
    const errors: TokenRefreshError[] = [];
    const store = createRedisTokenStore({
      redis: client(`redis://tokens:review2-password@127.0.0.1:${redis.port}`),
      key,
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => store.close());
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, {
      store,
      tokens: { ...INITIAL },
      refresh: refreshTokenGrant({ tokenUrl: `${api.url}/token`, clientId: 'review2' }),
      refreshTimeoutMs: 2000,
    });

    const response = await instance.get('/api/data');

    expect(response.status).toBe(200);
    expect(api.rotations()).toBe(1);
    expect(await admin.get(`axios-token-refresh:${key}:lock`)).toBeNull();
    expect(errors.map((error) => error.message)).toEqual([]);
  });
});

describe('the Redis store when Redis restarts with an empty dataset mid-session', () => {
  it('the next expiry still refreshes once, with the refresh token the session holds, and requests succeed (no reuse, no stuck 401s)', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.dispose());
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const store = createRedisTokenStore({ redis: client(redis.url), key: `review2-restart-${randomUUID()}` });
    cleanups.push(() => store.close());
    const instance = axios.create({ baseURL: api.url });
    attachRefresh(instance, {
      store,
      tokens: { ...INITIAL },
      refresh: refreshTokenGrant({ tokenUrl: `${api.url}/token`, clientId: 'review2' }),
      refreshTimeoutMs: 2000,
    });
    expect((await instance.get('/api/first')).status).toBe(200); // refresh-0 → refresh-1, version 2 in Redis

    await redis.stop();
    await redis.start();
    await client(redis.url).flushall(); // our own server: what a restart without persistence leaves
    api.expireAccess();

    const statuses = await Promise.all(
      [1, 2, 3].map((n) =>
        instance.get(`/api/after-restart-${n}`).then(
          (response) => response.status,
          (error: { response?: { status?: number }; code?: string }) => error.response?.status ?? error.code,
        ),
      ),
    );

    expect(statuses).toEqual([200, 200, 200]);
    expect(api.refreshRequests.map((request) => request.outcome)).toEqual(['rotated', 'rotated']);
    expect(api.revoked()).toBe(false);
  });
});
