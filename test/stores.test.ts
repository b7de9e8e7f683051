import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTokenRefreshError } from '../src/errors.js';
import { createBrowserTokenStore, memoryStorage } from '../src/browser.js';
import { createRedisTokenStore } from '../src/redis.js';
import { MemoryTokenStore } from '../src/store.js';
import type { TokenStore } from '../src/store.js';
import { FakeLockRegistry } from './e2e/support/fake-web-locks.js';
import { startTestRedis } from './e2e/support/redis-server.js';
import type { TestRedis } from './e2e/support/redis-server.js';
import { describeTokenStoreContract } from './store-contract.js';

const SECRET = 'secret-refresh-token-value';

let server: TestRedis;
let clientA: Redis;
let clientB: Redis;
// One prefix per run, so parallel runs and leftovers of earlier runs never meet.
const prefix = `axios-token-refresh-test:${randomUUID()}:`;
let keys = 0;
const nextKey = (): string => `login-${(keys += 1)}`;

beforeAll(async () => {
  server = await startTestRedis();
  clientA = new Redis(server.url, { maxRetriesPerRequest: 1 });
  clientB = new Redis(server.url, { maxRetriesPerRequest: 1 });
  await Promise.all([clientA.ping(), clientB.ping()]);
});

afterAll(async () => {
  if (clientA) {
    const leftovers = await clientA.keys(`${prefix}*`);
    if (leftovers.length > 0) await clientA.del(...leftovers);
    await clientA.quit();
  }
  await clientB?.quit();
  await server?.stop();
});

/** Waits until Redis reports `count` subscribers on `channel`. */
async function subscribers(channel: string, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const [, found] = (await clientA.pubsub('NUMSUB', channel)) as [string, number];
    if (Number(found) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no ${count} subscribers on ${channel} after 2 s`);
}

describeTokenStoreContract(
  'MemoryTokenStore',
  async () => {
    const store = new MemoryTokenStore();
    return { a: store, b: store, dispose: async () => undefined };
  },
  // The memory lock cannot outlive its holder (same process), so it has no lease to expire.
  { waitTimeout: true, leaseExpiry: false, subscribe: false },
);

describeTokenStoreContract(
  'createRedisTokenStore() with two connections',
  async () => {
    const key = nextKey();
    const a = createRedisTokenStore({ redis: clientA, key, prefix });
    const b = createRedisTokenStore({ redis: clientB, key, prefix });
    return {
      a,
      b,
      subscribed: () => subscribers(`${prefix}${key}:tokens`, 2),
      dispose: async () => {
        await Promise.all([a.close?.(), b.close?.()]);
      },
    };
  },
  { waitTimeout: true, leaseExpiry: true, subscribe: true },
);

describe('createRedisTokenStore(options)', () => {
  it('names every invalid option in one TypeError', () => {
    expect(() =>
      createRedisTokenStore({ redis: {} as Redis, key: '', maxPollIntervalMs: 0 }),
    ).toThrow(
      new TypeError(
        'Expected `redis` to be an ioredis client, got a value of type object; ' +
          'Expected `key` to be a non-empty string, got an empty string; ' +
          'Expected `maxPollIntervalMs` to be a finite number >= 1, got `0` (number)',
      ),
    );
  });

  it('rejects lock options that are not finite numbers', async () => {
    const store = createRedisTokenStore({ redis: clientA, key: nextKey(), prefix });
    await expect(store.withLock(async () => 1, { leaseMs: 0, waitMs: Number.NaN })).rejects.toThrow(
      'Expected `leaseMs` to be a finite number >= 1, got `0` (number); ' +
        'Expected `waitMs` to be a finite number >= 0, got `NaN` (number)',
    );
    await store.close?.();
  });

  it('keeps the tokens in <prefix><key>:tokens as JSON with their version', async () => {
    const key = nextKey();
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    await store.write({ accessToken: 'a1', refreshToken: 'r1' }, 0);
    expect(JSON.parse((await clientB.get(`${prefix}${key}:tokens`)) ?? 'null')).toEqual({
      version: 1,
      tokens: { accessToken: 'a1', refreshToken: 'r1' },
    });
    await store.close?.();
  });

  it('holds the lock as <prefix><key>:lock with an unguessable owner and a lease of leaseMs, and deletes it after', async () => {
    const key = nextKey();
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    const seen = await store.withLock(
      async () => ({
        owner: await clientB.get(`${prefix}${key}:lock`),
        ttl: await clientB.pttl(`${prefix}${key}:lock`),
      }),
      { leaseMs: 5000, waitMs: 0 },
    );
    expect(seen.owner).toMatch(/^[0-9a-f]{32}$/);
    expect(seen.ttl).toBeGreaterThan(4000);
    expect(seen.ttl).toBeLessThanOrEqual(5000);
    expect(await clientB.exists(`${prefix}${key}:lock`)).toBe(0);
    await store.close?.();
  });

  it('takes over the lock of a process that died holding it once that lease runs out', async () => {
    const key = nextKey();
    // What a process killed mid-refresh leaves behind: a lock nobody will release.
    await clientB.set(`${prefix}${key}:lock`, 'dead-process', 'PX', 300);
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    await expect(store.withLock(async () => 'recovered', { leaseMs: 5000, waitMs: 5000 })).resolves.toBe('recovered');
    await store.close?.();
  });

  it('never puts the tokens into the error of a failed write, not even into its cause', async () => {
    const broken = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const store = createRedisTokenStore({ redis: broken, key: nextKey(), prefix });
    const error: unknown = await Promise.resolve(store.write({ accessToken: SECRET, refreshToken: SECRET }, 0)).catch((e: unknown) => e);
    expect(isTokenRefreshError(error) && error.code).toBe('PERSIST_FAILED');
    expect(JSON.stringify(error)).not.toContain(SECRET);
    expect(String((error as Error).message)).not.toContain(SECRET);
    const cause = (error as Error).cause as Record<string, unknown>;
    expect(JSON.stringify(cause, Object.getOwnPropertyNames(cause))).not.toContain(SECRET);
    await store.close?.();
    broken.disconnect();
  });

  it('never puts the tokens into the error of a script the server rejects', async () => {
    const key = nextKey();
    await clientB.set(`${prefix}${key}:tokens`, 'not a record');
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    const error = (await Promise.resolve(store.write({ refreshToken: SECRET }, 0)).catch((e: unknown) => e)) as Error;
    expect(isTokenRefreshError(error) && error.code).toBe('PERSIST_FAILED');
    const cause = error.cause as Record<string, unknown>;
    expect(JSON.stringify(cause, Object.getOwnPropertyNames(cause))).not.toContain(SECRET);
    expect(cause).not.toHaveProperty('command');
    await store.close?.();
  });

  it('reports a value that is not a token record without printing it', async () => {
    const key = nextKey();
    await clientB.set(`${prefix}${key}:tokens`, `{"token":"${SECRET}"}`);
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    const error = (await Promise.resolve(store.read()).catch((e: unknown) => e)) as Error;
    expect(isTokenRefreshError(error) && error.code).toBe('TOKENS_LOAD_FAILED');
    expect(error.message).toBe(`Reading tokens from Redis key \`${prefix}${key}:tokens\` failed: the value is not a token record`);
    await store.close?.();
  });

  it('close() aborts a running task, rejects waiters, quits only the connection it made', async () => {
    const key = nextKey();
    const holderStore = createRedisTokenStore({ redis: clientA, key, prefix });
    const waiterStore = createRedisTokenStore({ redis: clientB, key, prefix });
    let signal: AbortSignal | undefined;
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    const holder = holderStore.withLock(
      (context) =>
        new Promise<string>((resolve) => {
          signal = context.signal;
          entered();
          context.signal.addEventListener('abort', () => resolve('aborted'));
        }),
      { leaseMs: 10_000, waitMs: 0 },
    );
    await holding;
    const waiter = waiterStore
      .withLock(async () => 'ran', { leaseMs: 10_000, waitMs: 10_000 })
      .catch((error: unknown) => error);
    await subscribers(`${prefix}${key}:lock`, 1);
    await waiterStore.close?.();
    expect(String(await waiter)).toContain('The Redis token store for');
    await holderStore.close?.();
    expect(signal?.aborted).toBe(true);
    await expect(holder).resolves.toBe('aborted');
    expect(clientA.status).toBe('ready');
    expect(clientB.status).toBe('ready');
    await subscribers(`${prefix}${key}:lock`, 0).catch(() => undefined);
    const [, left] = (await clientA.pubsub('NUMSUB', `${prefix}${key}:lock`)) as [string, number];
    expect(Number(left)).toBe(0);
    await expect(Promise.resolve().then(() => holderStore.read())).rejects.toThrow('was closed');
  });

  it('uses a subscriber connection it is given and leaves it open on close()', async () => {
    const key = nextKey();
    const subscriber = new Redis(server.url);
    const writer: TokenStore = createRedisTokenStore({ redis: clientA, key, prefix });
    const reader = createRedisTokenStore({ redis: clientB, subscriber, key, prefix });
    const heard: unknown[] = [];
    reader.subscribe?.((stored) => heard.push(stored.version));
    await subscribers(`${prefix}${key}:tokens`, 1);
    await writer.write({ accessToken: 'a1' }, 0);
    await expect.poll(() => heard).toEqual([1]);
    await reader.close?.();
    expect(subscriber.status).toBe('ready');
    await Promise.all([writer.close?.(), subscriber.quit()]);
  });
});

describeTokenStoreContract(
  'createBrowserTokenStore() in two tabs (Web Locks modelled in-process, BroadcastChannel)',
  async () => {
    const registry = new FakeLockRegistry();
    const name = nextKey();
    const a = createBrowserTokenStore({ name, locks: registry.tab('a') });
    const b = createBrowserTokenStore({ name, locks: registry.tab('b') });
    return {
      a,
      b,
      dispose: async () => {
        await Promise.all([a.close?.(), b.close?.()]);
      },
    };
  },
  { waitTimeout: true, leaseExpiry: true, subscribe: true },
);

describeTokenStoreContract(
  'createBrowserTokenStore({ locks: null }) (the per-tab fallback)',
  async () => {
    const store = createBrowserTokenStore({ name: nextKey(), locks: null });
    return { a: store, b: store, dispose: async () => store.close?.() };
  },
  { waitTimeout: true, leaseExpiry: true, subscribe: false },
);

describe('createBrowserTokenStore(options)', () => {
  it('names every invalid option in one TypeError', () => {
    expect(() =>
      createBrowserTokenStore({ name: '', storage: { get: () => null } as never, locks: 'x' as never }),
    ).toThrow(
      new TypeError(
        'Expected `name` to be a non-empty string, got an empty string; ' +
          'Expected `storage` to be a TokenStorage ({ get, set }), got a value of type object; ' +
          'Expected `locks` to be a LockManager or null, got a string',
      ),
    );
  });

  it('gives a tab opened later the tokens the open tabs hold in memory', async () => {
    const registry = new FakeLockRegistry();
    const name = nextKey();
    const first = createBrowserTokenStore({ name, locks: registry.tab('first') });
    await first.write({ accessToken: 'a1', refreshToken: 'r1' }, 0);
    // This tab's BroadcastChannel did not exist when the tokens were announced: it has to ask.
    const later = createBrowserTokenStore({ name, locks: registry.tab('later') });
    expect(await later.read()).toEqual({ tokens: { accessToken: 'a1', refreshToken: 'r1' }, version: 1 });
    await Promise.all([first.close?.(), later.close?.()]);
  });

  it('does not let a tab that missed the newest tokens overwrite them (compare-and-set across tabs)', async () => {
    const registry = new FakeLockRegistry();
    const name = nextKey();
    const writer = createBrowserTokenStore({ name, locks: registry.tab('writer') });
    await writer.write({ accessToken: 'a1' }, 0);
    const late = createBrowserTokenStore({ name, locks: registry.tab('late') });
    expect(await late.write({ accessToken: 'stale' }, 0)).toBeNull();
    expect(await writer.read()).toEqual({ tokens: { accessToken: 'a1' }, version: 1 });
    await Promise.all([writer.close?.(), late.close?.()]);
  });

  it('frees the lock of a tab that is closed while holding it, long before the lease', async () => {
    const registry = new FakeLockRegistry();
    const name = nextKey();
    const doomedTab = registry.tab('doomed');
    const doomed = createBrowserTokenStore({ name, locks: doomedTab });
    const survivor = createBrowserTokenStore({ name, locks: registry.tab('survivor') });
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    void doomed.withLock(() => {
      entered();
      return new Promise<never>(() => undefined);
    }, { leaseMs: 60_000, waitMs: 0 });
    await holding;
    const next = survivor.withLock(async () => 'survivor ran', { leaseMs: 60_000, waitMs: 5000 });
    doomedTab.close();
    await expect(next).resolves.toBe('survivor ran');
    await survivor.close?.();
  });

  it('keeps the tokens in the storage it is given, with their version', async () => {
    const storage = memoryStorage();
    const store = createBrowserTokenStore({ name: nextKey(), storage, locks: null });
    await store.write({ accessToken: 'a1' }, 0);
    expect(JSON.parse(String(await storage.get()))).toEqual({ version: 1, tokens: { accessToken: 'a1' } });
    await storage.set(JSON.stringify({ version: 7, tokens: { accessToken: 'from-storage' } }));
    expect(await store.read()).toEqual({ tokens: { accessToken: 'from-storage' }, version: 7 });
    await store.close?.();
  });

  it('reports a stored value that is not a token record without printing it', async () => {
    const storage = memoryStorage();
    await storage.set(`{"token":"${SECRET}"}`);
    const store = createBrowserTokenStore({ name: 'corrupt', storage, locks: null });
    const error = (await Promise.resolve().then(() => store.read()).catch((e: unknown) => e)) as Error;
    expect(isTokenRefreshError(error) && error.code).toBe('TOKENS_LOAD_FAILED');
    expect(error.message).not.toContain(SECRET);
    await store.close?.();
  });
});
