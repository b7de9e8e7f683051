/**
 * Found (s8-stores review, suspected item (a), LOW-MEDIUM), against a real Redis: the twin of
 * test/store-convergence/write-back-costs-replay.test.ts. The write after a refresh is refused (Redis full: maxmemory 1,
 * noeviction, as in test/e2e/review-session7/redis-write-lost-after-refresh.e2e.test.ts); the session uses a1 at
 * version 1 and writes it back under the lock. A request goes out with a1; Redis gets room again, the write-back
 * lands (version 2, the same a1); the request's 401 for a1 then counts version 2 as "newer tokens", is replayed with
 * the refused a1 and fails, instead of refreshing and being replayed with a2.
 */
import { randomUUID } from 'node:crypto';
import axios, { AxiosError, type AxiosAdapter } from 'axios';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../../src/index.js';
import type { TokenSet } from '../../../src/index.js';
import { createRedisTokenStore } from '../../../src/redis.js';
import { startOwnRedis } from '../support/redis-faults.js';
import { cleanupAfterEach } from '../../support/cleanups.js';

const defer = cleanupAfterEach();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('Redis: a 401 for tokens the write-back recorded meanwhile', () => {
  it('refreshes and replays with new tokens, not with the refused ones', async () => {
    const own = await startOwnRedis();
    defer(() => own.dispose());
    const admin = new Redis(own.url);
    defer(() => admin.quit());
    const redis = new Redis(own.url);
    const key = `found-write-back-${randomUUID()}`;
    const store = createRedisTokenStore({ redis, key, operationTimeoutMs: 1000, onError: () => undefined });
    defer(async () => {
      await store.close();
      await redis.quit();
    });
    await store.write({ accessToken: 'a0', refreshToken: 'r0' }, 0);

    let serial = 0;
    const refresh = async (_current: TokenSet): Promise<TokenSet> => {
      serial += 1;
      if (serial === 1) {
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        await admin.config('SET', 'maxmemory', '1'); // Redis is full: the write of a1 is refused (OOM)
      }
      return { accessToken: `a${serial}`, refreshToken: `r${serial}`, expiresAt: Date.now() + 3_600_000 };
    };
    const refused = new Set<string>();
    const sent: string[] = [];
    const adapter: AxiosAdapter = async (config) => {
      const authorization = String(config.headers.Authorization);
      sent.push(authorization);
      if (authorization === 'Bearer a1' && !refused.has('a1')) {
        refused.add('a1'); // the server refuses a1; its answer comes after Redis had room again
        await admin.config('SET', 'maxmemory', '0');
        for (
          let waited = 0;
          (attached.session as unknown as { version: number }).version < 2 && waited < 3_000;
          waited += 20
        )
          await sleep(20);
      }
      if (refused.has(authorization.slice('Bearer '.length))) {
        throw new AxiosError('Unauthorized', 'ERR_BAD_REQUEST', config, undefined, {
          status: 401,
          statusText: 'Unauthorized',
          headers: {},
          config,
          data: {},
        });
      }
      return { data: 'ok', status: 200, statusText: 'OK', headers: {}, config };
    };
    const api = axios.create({ adapter });
    const attached = attachRefresh(api, { store, refresh, refreshTimeoutMs: 3_000 });
    defer(() => attached.close());
    attached.session.on('refreshError', () => undefined);

    await attached.refresh();
    expect(attached.getTokens()?.accessToken).toBe('a1');
    const outcome = await api.get('/me').then(
      (response) => response.data,
      (error: AxiosError) => `failed: ${error.response?.status}`,
    );
    expect((attached.session as unknown as { version: number }).version).toBeGreaterThanOrEqual(2);
    expect.soft(sent).toEqual(['Bearer a1', 'Bearer a2']);
    expect(outcome).toBe('ok');
  });
});
