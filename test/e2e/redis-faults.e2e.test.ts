import { randomUUID } from 'node:crypto';
import axios from 'axios';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { isTokenRefreshError } from '../../src/errors.js';
import { createRedisTokenStore } from '../../src/redis.js';
import { DEFAULT_OPERATION_TIMEOUT_MS } from '../../src/shared-store.js';
import type { SharedTokenStore } from '../../src/store.js';
import type { TokenSet } from '../../src/tokens.js';
import { freePort, startOwnRedis, startSilentServer, startTcpProxy } from './support/redis-faults.js';
import { INITIAL, refreshAt, startTokenApi } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';

// What "bounded" allows beyond the documented deadline on a loaded 2-core machine: a bound, not a timing goal.
const MARGIN_MS = 2500;
const BOUND_MS = DEFAULT_OPERATION_TIMEOUT_MS + MARGIN_MS;
// close() must not wait on Redis at all; this only absorbs a busy event loop.
const CLOSE_BOUND_MS = 1000;
const prefix = `axios-token-refresh-faults:${randomUUID()}:`;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
});

/** The README's client set-up: `new Redis(url)` with ioredis defaults (offline queue, reconnecting forever). */
function readmeClient(url: string): Redis {
  const redis = new Redis(url);
  // Only keeps ioredis from printing "Unhandled error event" while Redis is unreachable; behaviour is unchanged.
  redis.on('error', () => undefined);
  cleanups.push(() => redis.disconnect());
  return redis;
}

/** How a promise settled and after how long. */
async function timed(promise: Promise<unknown>): Promise<{ error: unknown; ms: number; value?: unknown }> {
  const started = performance.now();
  try {
    const value = await promise;
    return { error: undefined, value, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

/** The STORE_FAILED error in `error` or its causes (the session may wrap the store's error). */
function storeFailure(error: unknown): (Error & { code: string }) | undefined {
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth += 1) {
    if (isTokenRefreshError(current) && current.code === 'STORE_FAILED') return current;
    current = (current as { cause?: unknown } | null)?.cause;
  }
  return undefined;
}

function expectBoundedStoreFailure(outcome: { error: unknown; ms: number }, key: string): void {
  const failure = storeFailure(outcome.error);
  expect(failure, `expected STORE_FAILED, got ${String(outcome.error)}`).toBeDefined();
  // The store's own deadline names the key; the session's (refreshTimeoutMs, when shorter) names the token store.
  expect(failure?.message).toMatch(new RegExp(`${key}|token store did not answer`));
  expect(outcome.ms).toBeLessThan(BOUND_MS);
}

async function readyAgain(redis: Redis): Promise<void> {
  await expect.poll(() => redis.status, { timeout: 10_000, interval: 50 }).toBe('ready');
}

/** An axios instance on the token API with attachRefresh and the Redis store, as a service in the fleet would have. */
function attachToApi(api: TokenApi, store: SharedTokenStore) {
  const instance = axios.create({ baseURL: api.url });
  const attached = attachRefresh(instance, {
    store,
    refreshTimeoutMs: 2000,
    refresh: refreshAt(api),
  });
  cleanups.push(() => attached.detach());
  return { instance, attached };
}

async function seed(url: string, key: string, tokens: TokenSet = INITIAL): Promise<void> {
  const redis = new Redis(url);
  const store = createRedisTokenStore({ redis, key, prefix });
  await store.write(tokens, 0);
  await store.close();
  await redis.quit();
}

describe('createRedisTokenStore() when Redis fails (real redis-server, the README client set-up)', () => {
  it('rejects read, write and withLock with STORE_FAILED within operationTimeoutMs when Redis refuses connections, and close() returns at once', async () => {
    const port = await freePort(); // nothing listens there
    const key = `refused-${randomUUID()}`;
    const store = createRedisTokenStore({ redis: readmeClient(`redis://127.0.0.1:${port}`), key, prefix });
    store.subscribe(() => undefined);
    const [read, write, lock] = await Promise.all([
      timed(store.read()),
      timed(store.write({ accessToken: 'a1' }, 0)),
      timed(store.withLock(async () => 'ran', { leaseMs: 10_000, waitMs: 30_000 })),
    ]);
    expectBoundedStoreFailure(read, key);
    expect((read.error as Error).message).toMatch(
      /^Reading tokens from Redis key `.*` failed: Redis did not answer within 5000 ms/,
    );
    expectBoundedStoreFailure(write, key);
    expect((write.error as Error).message).toMatch(/^Writing tokens to Redis key/);
    expectBoundedStoreFailure(lock, key);
    expect((lock.error as Error).message).toMatch(/^Taking the refresh lock `.*:lock` in Redis failed/);
    expect((await timed(store.close())).ms).toBeLessThan(CLOSE_BOUND_MS);
  });

  it('fails a request with STORE_FAILED within operationTimeoutMs when Redis accepts connections and never answers, and close() returns at once', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const key = `silent-${randomUUID()}`;
    const store = createRedisTokenStore({ redis: readmeClient(silent.url), key, prefix });
    const { instance } = attachToApi(api, store);
    const [request, read, lock] = await Promise.all([
      timed(instance.get('/api/item')),
      timed(store.read()),
      timed(store.withLock(async () => 'ran', { leaseMs: 10_000, waitMs: 30_000 })),
    ]);
    expectBoundedStoreFailure(request, key);
    expectBoundedStoreFailure(read, key);
    expectBoundedStoreFailure(lock, key);
    expect(api.api).toEqual({ ok: 0, unauthorized: 0 });
    expect((await timed(store.close())).ms).toBeLessThan(CLOSE_BOUND_MS);
  });

  it('keeps the tokens and fails the refresh with STORE_FAILED when Redis goes away mid-session, and refreshes again once it is back', async () => {
    const own = await startOwnRedis();
    cleanups.push(() => own.dispose());
    const proxy = await startTcpProxy(own.port);
    cleanups.push(() => proxy.close());
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const key = `cut-${randomUUID()}`;
    await seed(own.url, key);
    const redis = readmeClient(proxy.url);
    const store = createRedisTokenStore({ redis, key, prefix });
    const { instance, attached } = attachToApi(api, store);
    await instance.get('/api/1');
    expect(attached.getTokens()?.accessToken).toBe('access-1');

    await proxy.cut();
    api.expireAccess();
    const during = await timed(instance.get('/api/2'));
    expectBoundedStoreFailure(during, key);
    // The refresh never ran without the lock, and the tokens in use were kept.
    expect(api.refreshRequests).toHaveLength(1);
    expect(attached.getTokens()?.accessToken).toBe('access-1');

    await proxy.restore();
    await readyAgain(redis);
    // The SET that ioredis queued while Redis was away runs now; the store gives that late lock back at once.
    const direct = new Redis(own.url);
    cleanups.push(() => direct.quit());
    await expect.poll(() => direct.exists(`${prefix}${key}:lock`), { timeout: 3000, interval: 50 }).toBe(0);
    const after = await timed(instance.get('/api/3'));
    expect(after.error).toBeUndefined();
    expect(attached.getTokens()?.accessToken).toBe('access-2');
    expect(api.revoked()).toBe(false);
    expect((await timed(store.close())).ms).toBeLessThan(CLOSE_BOUND_MS);
  });

  it('bounds requests while redis-server is stopped, and carries on with the same tokens once it is started again', async () => {
    const own = await startOwnRedis();
    cleanups.push(() => own.dispose());
    const api = await startTokenApi();
    cleanups.push(() => api.close());
    const key = `restart-${randomUUID()}`;
    await seed(own.url, key);
    const redis = readmeClient(own.url);
    const store = createRedisTokenStore({ redis, key, prefix });
    const { instance, attached } = attachToApi(api, store);
    await instance.get('/api/1');

    await own.stop();
    api.expireAccess();
    const [request, write] = await Promise.all([
      timed(instance.get('/api/2')),
      timed(store.write({ accessToken: 'never' }, 1)),
    ]);
    expectBoundedStoreFailure(request, key);
    expectBoundedStoreFailure(write, key);
    expect(attached.getTokens()?.accessToken).toBe('access-1');
    // close() of a second store on the same down client, with a subscription pending, does not wait for Redis.
    const other = createRedisTokenStore({ redis, key, prefix });
    other.subscribe(() => undefined);
    expect((await timed(other.close())).ms).toBeLessThan(CLOSE_BOUND_MS);

    await own.start();
    await readyAgain(redis);
    const after = await timed(instance.get('/api/3'));
    expect(after.error).toBeUndefined();
    expect(attached.getTokens()?.accessToken).toBe('access-2');
    expect(api.refreshRequests.map((r) => r.outcome)).toEqual(['rotated', 'rotated']);
    expect((await timed(store.close())).ms).toBeLessThan(CLOSE_BOUND_MS);
  });
});

describe('the store’s own subscriber connection across a Redis restart', () => {
  // The store subscribes again itself after a reconnect (ioredis's autoResubscribe left an uncatchable promise that a
  // close() during the reconnect turned into an unhandled rejection): another store's write still reaches it.
  it('hears another store’s write after redis-server restarts, and closes at once', async () => {
    const own = await startOwnRedis();
    cleanups.push(() => own.dispose());
    const key = `resubscribe-${randomUUID()}`;
    const writer = createRedisTokenStore({ redis: readmeClient(own.url), key, prefix });
    const listener = createRedisTokenStore({ redis: readmeClient(own.url), key, prefix });
    cleanups.push(
      () => writer.close(),
      () => listener.close(),
    );
    const heard: (string | undefined)[] = [];
    listener.subscribe((stored) => heard.push(stored.tokens?.accessToken));
    // Subscribing completes in the background: write again until the write is heard (or 10 s pass).
    const writeUntilHeard = async (accessToken: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!heard.includes(accessToken) && Date.now() < deadline) {
        const current = await writer.read().catch(() => undefined);
        if (current !== undefined) await writer.write({ accessToken }, current.version).catch(() => null);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    await writeUntilHeard('before-restart');
    expect(heard).toContain('before-restart');

    await own.stop();
    await own.start();
    await writeUntilHeard('after-restart');
    expect(heard).toContain('after-restart');
    expect((await timed(listener.close())).ms).toBeLessThan(CLOSE_BOUND_MS);
  });
});
