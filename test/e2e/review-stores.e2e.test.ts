// review-stores: the Redis store under real faults, against a redis-server of the test's own and a token server on
// 127.0.0.1 that rotates refresh tokens and revokes the grant when a spent one comes back. Every test states what a
// user relies on; the failing ones are the review's findings (see the branch's report).
import { randomUUID } from 'node:crypto';
import axios from 'axios';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createRedisTokenStore } from '../../src/redis.js';
import type { SharedTokenStore } from '../../src/store.js';
import { startOwnRedis } from './support/redis-faults.js';
import { INITIAL, refreshAt, startTokenApi, statusOf } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';

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

/** An axios instance on the token API with attachRefresh and the Redis store, as a service in the fleet would have. */
function attachToApi(api: TokenApi, store: SharedTokenStore) {
  const instance = axios.create({ baseURL: api.url });
  const attached = attachRefresh(instance, {
    store,
    refreshTimeoutMs: 2000,
    refresh: refreshAt(api),
  });
  cleanups.push(() => attached.close());
  return instance;
}

describe('the Redis store restored from an older backup mid-session (docs/stores.md, "When Redis loses data")', () => {
  // Finding (HIGH): docs/stores.md promises, for "a restore from an older backup" that "leaves the key ... at an older
  // version than the processes hold": "The session, under the lock, writes back the tokens it holds and refreshes from
  // them." It does not: under the lock it reads version 1 < its version 2 with tokens in it, takes that for "a login
  // written after the store was reset" (Session#underLock -> #adoptReset) and adopts the backup's access-0 /
  // refresh-0, which it rotated away itself. The retried request gets 401, the session refreshes with refresh-0, the
  // server detects the reuse and revokes the grant: every process of the fleet is logged out.
  it('the next 401 refreshes from the tokens the process holds, never from the spent refresh token in the backup', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.dispose());
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const admin = client(redis.url);
    const key = `review-stores-backup-${randomUUID()}`;
    const tokensKey = `axios-token-refresh:${key}:tokens`;
    const seeder = createRedisTokenStore({ redis: client(redis.url), key });
    await seeder.write(INITIAL, 0);
    await seeder.close();
    const backup = await admin.dumpBuffer(tokensKey); // the nightly backup: version 1, access-0 / refresh-0

    const store = createRedisTokenStore({ redis: client(redis.url), key });
    cleanups.push(() => store.close());
    const instance = attachToApi(api, store);
    expect(await statusOf(instance, '/api/before')).toBe(200); // one refresh: refresh-0 is spent, Redis at version 2
    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([['refresh-0', 'rotated']]);

    await admin.restore(tokensKey, 0, backup, 'REPLACE'); // the operator restores last night's backup
    api.expireAccess(); // later, the access token expires

    // The first request after the restore comes back 401 (the adopted access-0 is refused, and the retry is spent);
    // the next one refreshes with refresh-0: reuse, the grant is revoked.
    const after = [await statusOf(instance, '/api/after-restore'), await statusOf(instance, '/api/next')];
    expect(api.refreshRequests.filter((r) => r.outcome !== 'rotated')).toEqual([]);
    expect(api.revoked()).toBe(false);
    expect(after).toEqual([200, 200]);
    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([
      ['refresh-0', 'rotated'],
      ['refresh-1', 'rotated'],
    ]);
  });
});
