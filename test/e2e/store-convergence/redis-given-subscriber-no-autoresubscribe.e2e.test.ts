/**
 * Found (s8 hostile review of e6bfe51, MEDIUM): a `subscriber` the app passes in, made with `autoResubscribe: false`,
 * is never subscribed again after its connection drops: every later write by another process is missed for good.
 *
 * src/redis.ts `#onReady` clears `#subscribed` (so that `#ensureSubscribed` sends SUBSCRIBE again) only for the
 * store's OWN connection (`if (own) this.#subscribed = undefined`). For a given one it assumes ioredis resubscribes
 * by itself, which it does only with `autoResubscribe: true`. An app that read the store's own comment ("ioredis's own
 * resubscription is a promise nobody can catch") and builds its subscriber the same way the store builds its own
 * (`redis.duplicate({ autoResubscribe: false })`) gets a store that, after one blip, never hears a logout or a new login
 * made elsewhere; `#ensureSubscribed` keeps answering with the old, resolved promise. docs/sharing.md: "pass
 * `subscriber` to provide your own ... A message sent while that connection is down is lost: when it is back, the store
 * reads the record and passes on what changed meanwhile". The read-back happens once; the subscription does not.
 *
 * Real parts: the shared Redis at 127.0.0.1:6379 (a unique key), a real TCP proxy in front of it that the test cuts.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../../src/index.js';
import { createRedisTokenStore } from '../../../src/redis.js';
import { startTcpProxy } from '../support/redis-faults.js';
import { cleanupAfterEach } from '../../support/cleanups.js';

const defer = cleanupAfterEach();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const refresh = async () => ({ accessToken: 'refreshed', refreshToken: 'refreshed-r' });
const hour = () => Date.now() + 3_600_000;

describe.each([false, true])('a subscriber the app gave (autoResubscribe: %s) whose connection dropped', (auto) => {
  it('still hears writes made by another process after it is back', async () => {
    const key = `found-given-sub-${randomUUID()}`;
    const admin = new Redis('redis://127.0.0.1:6379');
    defer(async () => {
      await admin.del(`axios-token-refresh:${key}:tokens`, `axios-token-refresh:${key}:lock`);
      await admin.quit();
    });
    const proxy = await startTcpProxy(6379);
    defer(() => proxy.close());

    // Process A: the main connection direct, the app's own subscriber through the proxy.
    const redisA = new Redis('redis://127.0.0.1:6379');
    const subscriber = new Redis(proxy.url, { autoResubscribe: auto });
    subscriber.on('error', () => undefined);
    const storeA = createRedisTokenStore({
      redis: redisA,
      subscriber,
      key,
      operationTimeoutMs: 1000,
      onError: () => undefined,
    });
    const a = createTokenSession({ store: storeA, refresh });
    defer(async () => {
      await a.close();
      await storeA.close();
      subscriber.disconnect();
      redisA.disconnect();
    });
    // Process B.
    const redisB = new Redis('redis://127.0.0.1:6379');
    const storeB = createRedisTokenStore({ redis: redisB, key, operationTimeoutMs: 1000, onError: () => undefined });
    const b = createTokenSession({ store: storeB, refresh });
    defer(async () => {
      await b.close();
      await storeB.close();
      redisB.disconnect();
    });

    await b.setTokens({ accessToken: 'alice-access', refreshToken: 'alice-refresh', expiresAt: hour() });
    expect(await a.getAccessToken()).toBe('alice-access');
    await sleep(300); // A has subscribed
    await b.setTokens({ accessToken: 'alice2-access', refreshToken: 'alice2-refresh', expiresAt: hour() });
    for (let waited = 0; a.getTokens()?.accessToken !== 'alice2-access' && waited < 3_000; waited += 50)
      await sleep(50);
    expect(a.getTokens()?.accessToken).toBe('alice2-access'); // heard while connected

    await proxy.cut(); // the subscriber connection drops (a blip)
    await sleep(200);
    await proxy.restore();
    for (let waited = 0; subscriber.status !== 'ready' && waited < 5_000; waited += 50) await sleep(50);
    expect(subscriber.status).toBe('ready');
    await sleep(500); // whatever the store does on `ready`

    // Long after the blip, another process signs in as Bob: A must hear it (docs/sharing.md).
    await b.setTokens({ accessToken: 'bob-access', refreshToken: 'bob-refresh', expiresAt: hour() });
    for (let waited = 0; a.getTokens()?.accessToken !== 'bob-access' && waited < 3_000; waited += 50) await sleep(50);
    expect(a.getTokens()?.accessToken).toBe('bob-access');
  });
});
