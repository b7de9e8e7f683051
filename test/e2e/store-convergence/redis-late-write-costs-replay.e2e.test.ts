/**
 * Found (s8 hostile review of e6bfe51, LOW-MEDIUM): the fix for "a write-back that records the same tokens at a new
 * version costs a 401 its refresh" (`#tokensSince`) covers only the write-back's own successful write. When the first
 * write after a refresh DID land but its answer came too late (Redis slow or paused: the EVAL runs after
 * `operationTimeoutMs`), the write-back's next try is refused (null: the version moved on), `#catchUp` reads the
 * record back and `#adoptFromElsewhere` adopts a JSON copy of the very same tokens at version 2. A copy is not the
 * same object, so `#adopt` takes it for new tokens: `#tokensSince` = 2. A request that went out with a1 at version 1
 * gets a 401; `refreshFor(1)` finds 1 not "in use", resolves, and the request is replayed with the refused a1, which
 * fails again (maxReplays 1). The CHANGELOG: "Recording the same tokens again now keeps them the tokens in use".
 *
 * Real parts: a redis-server of the test's own, `CLIENT PAUSE ... WRITE` (scripts wait, reads go on) to make the
 * write land after the store gave up on it.
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

describe('Redis: a 401 for tokens whose late write was read back meanwhile', () => {
  it('refreshes and replays with new tokens, not with the refused ones', async () => {
    const own = await startOwnRedis();
    defer(() => own.dispose());
    const admin = new Redis(own.url);
    defer(() => admin.quit());
    const redis = new Redis(own.url);
    const key = `found-late-write-${randomUUID()}`;
    const store = createRedisTokenStore({ redis, key, operationTimeoutMs: 300, onError: () => undefined });
    defer(async () => {
      await store.close();
      await redis.quit();
    });
    await store.write({ accessToken: 'a0', refreshToken: 'r0' }, 0);

    let serial = 0;
    const refresh = async (_current: TokenSet): Promise<TokenSet> => {
      serial += 1;
      // Redis stalls writes for a moment: the write of a1 is answered after the store gave up on it, but it lands.
      if (serial === 1) await admin.call('CLIENT', 'PAUSE', '1000', 'WRITE');
      return { accessToken: `a${serial}`, refreshToken: `r${serial}`, expiresAt: Date.now() + 3_600_000 };
    };
    const refused = new Set<string>();
    const sent: string[] = [];
    const version = () => (attached.session as unknown as { version: number }).version;
    const adapter: AxiosAdapter = async (config) => {
      const authorization = String(config.headers.Authorization);
      sent.push(authorization);
      if (authorization === 'Bearer a1' && !refused.has('a1')) {
        refused.add('a1'); // the server refuses a1 (revoked, say); its answer comes once the session read back v2
        for (let waited = 0; version() < 2 && waited < 5_000; waited += 20) await sleep(20);
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
    const attached = attachRefresh(api, { store, refresh, refreshTimeoutMs: 5_000 });
    defer(() => attached.close());
    attached.session.on('refreshError', () => undefined); // the STORE_FAILED of the write answered late

    await attached.refresh();
    expect(attached.getTokens()?.accessToken).toBe('a1');
    expect(version()).toBe(1); // the write is "failed": a1 in use at the version the store had
    const outcome = await api.get('/me').then(
      (response) => response.data,
      (error: AxiosError) => `failed: ${error.response?.status}`,
    );
    expect(version()).toBeGreaterThanOrEqual(2); // the late write was read back while the request was out
    expect(JSON.parse((await admin.get(`axios-token-refresh:${key}:tokens`)) ?? 'null').tokens.accessToken).not.toBe(
      'a0',
    );
    expect.soft(sent).toEqual(['Bearer a1', 'Bearer a2']);
    expect(outcome).toBe('ok');
  });
});
