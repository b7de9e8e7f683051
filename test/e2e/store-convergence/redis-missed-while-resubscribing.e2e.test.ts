/**
 * Found (s8 store review, MEDIUM): a write made while a process's pub/sub connection was down is never heard.
 *
 * The Redis store hears other processes only through pub/sub; it has no poll (the file store has one for exactly this
 * reason). When its subscriber connection drops (a network blip, a proxy or load balancer idle timeout, CLIENT KILL,
 * a failover) its own connection subscribes again on `ready` (`#subscriberConnection`), but nothing reads the key back
 * then: a message published while it was away is lost, and so is the change. Here another process logs out while the
 * connection is cut; the process keeps sending the logged-out access token, silently, until that token expires and a
 * refresh reads the store (an hour, with a usual access token). The same for a new login (another account): it keeps
 * the old one. docs/sharing.md: the channel carries "every write, so the other processes switch to new tokens without
 * a refresh"; a logout elsewhere ends the session here (session.ts `#onStoreWrite`).
 *
 * Real parts: the shared Redis at 127.0.0.1:6379 (a unique key), and a real TCP proxy that the test cuts.
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

describe('a Redis store whose pub/sub connection was down while another process wrote', () => {
  it('hears the change once it is connected again (a logout elsewhere ends the session here)', async () => {
    const key = `found-missed-${randomUUID()}`;
    const admin = new Redis('redis://127.0.0.1:6379');
    defer(async () => {
      await admin.del(`axios-token-refresh:${key}:tokens`, `axios-token-refresh:${key}:lock`);
      await admin.quit();
    });
    const proxy = await startTcpProxy(6379);
    defer(() => proxy.close());

    const open = (url: string) => {
      const redis = new Redis(url);
      redis.on('error', () => undefined);
      const store = createRedisTokenStore({ redis, key, operationTimeoutMs: 1000, onError: () => undefined });
      const session = createTokenSession({ store, refresh });
      defer(async () => {
        await session.close();
        await store.close();
        redis.disconnect();
      });
      return session;
    };
    const a = open(proxy.url); // this process reaches Redis through the proxy
    const b = open('redis://127.0.0.1:6379');
    await b.setTokens({
      accessToken: 'alice-access',
      refreshToken: 'alice-refresh',
      expiresAt: Date.now() + 3_600_000,
    });
    expect(await a.getAccessToken()).toBe('alice-access');
    await sleep(300); // a has subscribed

    await proxy.cut(); // a's connections drop
    await b.logout({ revoke: false }); // Alice signs out in the other process
    await sleep(200);
    await proxy.restore(); // a's connections come back (ioredis reconnects, the store subscribes again)

    for (let waited = 0; a.getTokens() !== null && waited < 5_000; waited += 100) await sleep(100);
    expect.soft(a.getTokens()?.accessToken ?? null).toBeNull();

    // Control: the connection is back, and a write made now is heard. Only the one made while it was down was lost.
    await b.setTokens({ accessToken: 'bob-access', refreshToken: 'bob-refresh', expiresAt: Date.now() + 3_600_000 });
    for (let waited = 0; a.getTokens()?.accessToken !== 'bob-access' && waited < 3_000; waited += 50) await sleep(50);
    expect(a.getTokens()?.accessToken).toBe('bob-access');
  });
});
