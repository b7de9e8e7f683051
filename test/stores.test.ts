import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
  it('names the first invalid option in a TypeError', () => {
    expect(() => createRedisTokenStore({ redis: {} as Redis, key: '', maxPollIntervalMs: 0 })).toThrow(
      new TypeError('Expected `redis` to be an ioredis client, got a value of type object'),
    );
    expect(() => createRedisTokenStore({ redis: clientA, key: '', maxPollIntervalMs: 0 })).toThrow(
      new TypeError('Expected `key` to be a non-empty string, got an empty string'),
    );
    expect(() => createRedisTokenStore({ redis: clientA, key: 'k', operationTimeoutMs: 0 })).toThrow(
      new TypeError('Expected `operationTimeoutMs` to be a finite number >= 1, got `0` (number)'),
    );
  });

  it.each([
    ['prefix', 'a string'],
    ['subscriber', 'an ioredis client'],
    ['maxPollIntervalMs', 'a finite number >= 1'],
    ['operationTimeoutMs', 'a finite number >= 1'],
    ['onError', 'a function'],
  ])('rejects `%s: null` like any other wrong type', (name, what) => {
    expect(() => createRedisTokenStore({ redis: clientA, key: 'k', [name]: null })).toThrow(
      new TypeError(`Expected \`${name}\` to be ${what}, got \`null\``),
    );
  });

  it('rejects lock options that are not finite numbers', async () => {
    const store = createRedisTokenStore({ redis: clientA, key: nextKey(), prefix });
    await expect(store.withLock(async () => 1, { leaseMs: 0, waitMs: 10 })).rejects.toThrow(
      'Expected `leaseMs` to be a finite number >= 1, got `0` (number)',
    );
    await expect(store.withLock(async () => 1, { leaseMs: 10, waitMs: Number.NaN })).rejects.toThrow(
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
    const error: unknown = await Promise.resolve(store.write({ accessToken: SECRET, refreshToken: SECRET }, 0)).catch(
      (e: unknown) => e,
    );
    expect(isTokenRefreshError(error) && error.code).toBe('STORE_FAILED');
    expect(JSON.stringify(error)).not.toContain(SECRET);
    expect(String((error as Error).message)).not.toContain(SECRET);
    const cause = (error as Error).cause as Record<string, unknown>;
    expect(JSON.stringify(cause, Object.getOwnPropertyNames(cause))).not.toContain(SECRET);
    await store.close?.();
    broken.disconnect();
  });

  it('never puts the tokens into the error of a script the server rejects', async () => {
    const key = nextKey();
    // A key of the wrong type: the script's GET fails inside Redis.
    await clientB.rpush(`${prefix}${key}:tokens`, 'not a string');
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    const error = (await Promise.resolve(store.write({ refreshToken: SECRET }, 0)).catch((e: unknown) => e)) as Error;
    expect(isTokenRefreshError(error) && error.code).toBe('STORE_FAILED');
    expect(error.message).toMatch(
      new RegExp(`^Writing tokens to Redis key \`${prefix}${key}:tokens\` failed: .*WRONGTYPE`),
    );
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
    expect(isTokenRefreshError(error) && error.code).toBe('STORE_FAILED');
    expect(error.message).toBe(
      `Reading tokens from Redis key \`${prefix}${key}:tokens\` failed: the record there is malformed ` +
        '(`version` is not an integer >= 0); the next successful write replaces it',
    );
    expect(error.message).not.toContain(SECRET);
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
  it('names the first invalid option in a TypeError', () => {
    expect(() =>
      createBrowserTokenStore({ name: '', storage: { get: () => null } as never, locks: 'x' as never }),
    ).toThrow(new TypeError('Expected `name` to be a non-empty string, got an empty string'));
    expect(() => createBrowserTokenStore({ storage: { get: () => null } as never, locks: 'x' as never })).toThrow(
      new TypeError('Expected `storage` to be a TokenStorage ({ get, set }), got a value of type object'),
    );
    expect(() => createBrowserTokenStore({ locks: 'x' as never })).toThrow(
      new TypeError('Expected `locks` to be a LockManager or null, got a string'),
    );
  });

  it.each([
    ['name', 'a non-empty string'],
    ['storage', 'a TokenStorage ({ get, set })'],
    ['onError', 'a function'],
  ])('rejects `%s: null` like any other wrong type (only `locks` may be null)', (name, what) => {
    expect(() => createBrowserTokenStore({ locks: null, [name]: null })).toThrow(
      new TypeError(`Expected \`${name}\` to be ${what}, got \`null\``),
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
    void doomed.withLock(
      () => {
        entered();
        return new Promise<never>(() => undefined);
      },
      { leaseMs: 60_000, waitMs: 0 },
    );
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
    const error = (await Promise.resolve()
      .then(() => store.read())
      .catch((e: unknown) => e)) as Error;
    expect(isTokenRefreshError(error) && error.code).toBe('STORE_FAILED');
    expect(error.message).not.toContain(SECRET);
    await store.close?.();
  });
});

/** Records a shared store must never adopt, each as stored text (the secret stands where a token would). */
const MALFORMED: readonly (readonly [string, string])[] = [
  ['junk that is not JSON', `{"version":3,"tokens":{"accessToken":"${SECRET}"`],
  ['`accessToken: 42`', '{"version":3,"tokens":{"accessToken":42}}'],
  ['`expiresAt` in seconds', `{"version":3,"tokens":{"accessToken":"${SECRET}","expiresAt":1900000000}}`],
  ['a negative version', `{"version":-1,"tokens":{"accessToken":"${SECRET}"}}`],
  ['an array', '[1,2,3]'],
];

/** Collects the `process.emitWarning` warnings emitted while `run` runs (captured, not printed, so a passing run is quiet). */
async function warningsDuring(run: () => Promise<void>): Promise<Error[]> {
  const warnings: Error[] = [];
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error) => {
    warnings.push(typeof warning === 'string' ? new Error(warning) : warning);
  });
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    spy.mockRestore();
  }
  return warnings;
}

describe('createRedisTokenStore(): records it must not trust', () => {
  it.each(MALFORMED)(
    'rejects read() of %s with STORE_FAILED naming the key, and lets the next write replace it',
    async (_, text) => {
      const key = nextKey();
      await clientB.set(`${prefix}${key}:tokens`, text);
      const store = createRedisTokenStore({ redis: clientA, key, prefix });
      const error = (await store.read().catch((e: unknown) => e)) as Error;
      expect(isTokenRefreshError(error) && error.code).toBe('STORE_FAILED');
      expect(error.message).toMatch(
        new RegExp(
          `^Reading tokens from Redis key \`${prefix}${key}:tokens\` failed: the record there is malformed .*; the next successful write replaces it$`,
        ),
      );
      expect(error.message).not.toContain(SECRET);
      // Whatever version the session believed in, a login repairs the store.
      const written = await store.write({ accessToken: 'a-new' }, 0);
      expect(written?.tokens).toEqual({ accessToken: 'a-new' });
      expect(written!.version).toBeGreaterThanOrEqual(1);
      expect(await store.read()).toEqual(written);
      await store.close();
    },
  );

  it('replaces a malformed record at a version above the one it claims, so no reader sees a version go back', async () => {
    const key = nextKey();
    await clientB.set(`${prefix}${key}:tokens`, '{"version":7,"tokens":{"accessToken":42}}');
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    expect(await store.write({ accessToken: 'a-new' }, 2)).toEqual({ tokens: { accessToken: 'a-new' }, version: 8 });
    await store.close();
  });

  it('still refuses a stale write over a well-formed record (the repair is for malformed records only)', async () => {
    const key = nextKey();
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    await store.write({ accessToken: 'a1' }, 0);
    await store.write({ accessToken: 'a2' }, 1);
    expect(await store.write({ accessToken: 'stale' }, 0)).toBeNull();
    expect(await store.read()).toEqual({ tokens: { accessToken: 'a2' }, version: 2 });
    await store.close();
  });

  it('drops a malformed announcement and reports it to onError, never to the listeners', async () => {
    const key = nextKey();
    const channel = `${prefix}${key}:tokens`;
    const errors: Error[] = [];
    const store = createRedisTokenStore({ redis: clientA, key, prefix, onError: (error) => errors.push(error) });
    const heard: unknown[] = [];
    store.subscribe((stored) => heard.push(stored));
    await subscribers(channel, 1);
    for (const [, text] of MALFORMED) await clientB.publish(channel, `someone ${text}`);
    await clientB.set(channel, '{"version":4,"tokens":{"accessToken":"good"}}'); // the key has the channel's name
    await clientB.publish(channel, 'someone {"version":4,"tokens":{"accessToken":"good"}}');
    await expect.poll(() => heard).toEqual([{ version: 4, tokens: { accessToken: 'good' } }]);
    expect(errors).toHaveLength(MALFORMED.length);
    for (const error of errors) {
      expect(isTokenRefreshError(error) && error.code).toBe('STORE_FAILED');
      expect(error.message).toMatch(
        new RegExp(`^Dropped an announcement on the Redis channel \`${channel}\`: it is not a token record`),
      );
      expect(error.message).not.toContain(SECRET);
    }
    await store.close();
  });

  it('never passes on an announcement whose version is not newer than one already heard', async () => {
    const key = nextKey();
    const channel = `${prefix}${key}:tokens`; // also the name of the key
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    const heard: unknown[] = [];
    store.subscribe((stored) => heard.push(stored));
    await subscribers(channel, 1);
    await clientB.set(channel, '{"version":5,"tokens":{"accessToken":"v5"}}');
    await clientB.publish(channel, 'someone {"version":5,"tokens":{"accessToken":"v5"}}');
    await expect.poll(() => heard).toEqual([{ version: 5, tokens: { accessToken: 'v5' } }]);
    await clientB.publish(channel, 'someone {"version":3,"tokens":{"accessToken":"v3"}}');
    await clientB.publish(channel, 'someone {"version":5,"tokens":{"accessToken":"v5-again"}}');
    await clientB.set(channel, '{"version":6,"tokens":null}');
    await clientB.publish(channel, 'someone {"version":6,"tokens":null}');
    await expect
      .poll(() => heard)
      .toEqual([
        { version: 5, tokens: { accessToken: 'v5' } },
        { version: 6, tokens: null },
      ]);
    await store.close();
  });

  it('passes on what Redis holds, never what an announcement claims: a forged one (any version, any tokens) reaches no listener and does not deafen the store', async () => {
    const key = nextKey();
    const channel = `${prefix}${key}:tokens`;
    const writer = createRedisTokenStore({ redis: clientB, key, prefix });
    const reader = createRedisTokenStore({ redis: clientA, key, prefix });
    const heard: unknown[] = [];
    reader.subscribe((stored) => heard.push(stored));
    await subscribers(channel, 1);
    await writer.write({ accessToken: 'a1' }, 0);
    await expect.poll(() => heard).toHaveLength(1);
    await clientB.publish(channel, `someone {"version":${Number.MAX_SAFE_INTEGER},"tokens":{"accessToken":"forged"}}`);
    await writer.write({ accessToken: 'a2' }, 1);
    await expect
      .poll(() => heard)
      .toEqual([
        { version: 1, tokens: { accessToken: 'a1' } },
        { version: 2, tokens: { accessToken: 'a2' } },
      ]);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('compares versions on a well-formed record its Lua script cannot decode (cjson refuses a lone surrogate escape that JSON.parse accepts)', async () => {
    const key = nextKey();
    await clientB.set(`${prefix}${key}:tokens`, '{"tokens": {"accessToken": "a\\ud800"}, "version": 1}');
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    expect((await store.read()).version).toBe(1);
    expect(await store.write({ accessToken: 'stale' }, 0)).toBeNull();
    expect(await store.write({ accessToken: 'a2' }, 1)).toEqual({ tokens: { accessToken: 'a2' }, version: 2 });
    expect(await store.read()).toEqual({ tokens: { accessToken: 'a2' }, version: 2 });
    await store.close();
  });
});

describe('createRedisTokenStore(): Redis that lost data (a restart without persistence, FLUSHALL, an older backup)', () => {
  it('a write over the emptied key lands above every version the writer saw, and the other processes hear it', async () => {
    const key = nextKey();
    const writer = createRedisTokenStore({ redis: clientB, key, prefix });
    const reader = createRedisTokenStore({ redis: clientA, key, prefix });
    const heard: number[] = [];
    reader.subscribe((stored) => heard.push(stored.version));
    await subscribers(`${prefix}${key}:tokens`, 1);
    for (let version = 0; version < 3; version += 1) await writer.write({ accessToken: `a${version + 1}` }, version);
    await expect.poll(() => heard.at(-1)).toBe(3);
    await clientB.del(`${prefix}${key}:tokens`);

    expect(await writer.read()).toEqual({ tokens: null, version: 0 });
    const login = await writer.write({ accessToken: 'login' }, 0);

    expect(login).toEqual({ tokens: { accessToken: 'login' }, version: 4 });
    await expect.poll(() => heard.at(-1)).toBe(4);
    expect(await reader.read()).toEqual(login);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('a write over a record restored at an older version still compares on that version, and lands above the versions the writer saw', async () => {
    const key = nextKey();
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    for (let version = 0; version < 3; version += 1) await store.write({ accessToken: `a${version + 1}` }, version);
    await clientB.set(`${prefix}${key}:tokens`, '{"version":1,"tokens":{"accessToken":"from-the-backup"}}');

    expect(await store.write({ accessToken: 'stale' }, 3)).toBeNull();
    expect(await store.write({ accessToken: 'a-new' }, 1)).toEqual({ tokens: { accessToken: 'a-new' }, version: 4 });
    await store.close();
  });

  it('once Redis went back to an older version, the listeners hear what is written there (by a writer that never saw the lost ones)', async () => {
    const key = nextKey();
    const before = createRedisTokenStore({ redis: clientB, key, prefix });
    const reader = createRedisTokenStore({ redis: clientA, key, prefix });
    const heard: number[] = [];
    reader.subscribe((stored) => heard.push(stored.version));
    await subscribers(`${prefix}${key}:tokens`, 1);
    for (let version = 0; version < 3; version += 1) await before.write({ accessToken: `a${version + 1}` }, version);
    await expect.poll(() => heard.at(-1)).toBe(3);
    heard.length = 0;
    await before.close();
    await clientB.del(`${prefix}${key}:tokens`);
    const after = createRedisTokenStore({ redis: clientB, key, prefix }); // a process started after the loss

    await after.write({ accessToken: 'login' }, 0);
    await after.write({ accessToken: 'refreshed' }, 1);

    await expect.poll(() => heard.at(-1)).toBe(2);
    expect(await reader.read()).toEqual({ tokens: { accessToken: 'refreshed' }, version: 2 });
    await Promise.all([after.close(), reader.close()]);
  });

  it('reports a dropped announcement as a process warning when no onError is given', async () => {
    const key = nextKey();
    const channel = `${prefix}${key}:tokens`;
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    store.subscribe(() => undefined);
    await subscribers(channel, 1);
    const warnings = await warningsDuring(async () => {
      await clientB.publish(channel, 'someone {"version":1,"tokens":{"accessToken":42}}');
      await expect.poll(() => store.read()).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
    expect(warnings.map((warning) => (isTokenRefreshError(warning) ? warning.code : warning.name))).toEqual([
      'STORE_FAILED',
    ]);
    await store.close();
  });

  it('reports a listener that throws through the callback-error policy, and the other listeners still hear', async () => {
    const key = nextKey();
    const writer = createRedisTokenStore({ redis: clientB, key, prefix });
    const reader = createRedisTokenStore({ redis: clientA, key, prefix });
    const failure = new TypeError('listener broke');
    const heard: number[] = [];
    reader.subscribe(() => {
      throw failure;
    });
    reader.subscribe((stored) => heard.push(stored.version));
    await subscribers(`${prefix}${key}:tokens`, 1);
    const warnings = await warningsDuring(async () => {
      await writer.write({ accessToken: 'a1' }, 0);
      await expect.poll(() => heard).toEqual([1]);
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.name).toBe('TokenRefreshWarning');
    expect(warnings[0]?.message).toContain('a subscriber of the Redis token store for');
    expect(warnings[0]?.cause).toBe(failure);
    await Promise.all([writer.close(), reader.close()]);
  });
});

describe('createBrowserTokenStore(): records it must not trust', () => {
  it.each(MALFORMED)(
    'rejects read() of %s in storage with STORE_FAILED, and lets the next write replace it',
    async (_, text) => {
      const storage = memoryStorage();
      await storage.set(text);
      const store = createBrowserTokenStore({ name: nextKey(), storage, locks: null });
      const error = (await store.read().catch((e: unknown) => e)) as Error;
      expect(isTokenRefreshError(error) && error.code).toBe('STORE_FAILED');
      expect(error.message).toMatch(/failed: the record there is malformed .*; the next successful write replaces it$/);
      expect(error.message).not.toContain(SECRET);
      expect(await store.write({ accessToken: 'a-new' }, 0)).toEqual({ tokens: { accessToken: 'a-new' }, version: 1 });
      expect(await store.read()).toEqual({ tokens: { accessToken: 'a-new' }, version: 1 });
      await store.close();
    },
  );

  it('drops a malformed BroadcastChannel announcement and reports it to onError, never to the listeners', async () => {
    const name = nextKey();
    const errors: Error[] = [];
    const store = createBrowserTokenStore({ name, locks: null, onError: (error) => errors.push(error) });
    const heard: unknown[] = [];
    store.subscribe((stored) => heard.push(stored));
    const otherTab = new BroadcastChannel(`axios-token-refresh:${name}`);
    for (const [, text] of MALFORMED) {
      const parsed = (() => {
        try {
          return JSON.parse(text) as object;
        } catch {
          return { version: 3, tokens: text };
        }
      })();
      otherTab.postMessage({ type: 'tokens', ...parsed });
    }
    otherTab.postMessage({ type: 'tokens', version: 2, tokens: { accessToken: 'good' } });
    await expect.poll(() => heard).toEqual([{ version: 2, tokens: { accessToken: 'good' } }]);
    expect(errors.map((error) => (isTokenRefreshError(error) ? error.code : error.name))).toEqual(
      Array(MALFORMED.length).fill('STORE_FAILED'),
    );
    for (const error of errors) expect(error.message).not.toContain(SECRET);
    expect(await store.read()).toEqual({ version: 2, tokens: { accessToken: 'good' } });
    otherTab.close();
    await store.close();
  });

  it('never passes on an announcement whose version is not newer than the one it has', async () => {
    const name = nextKey();
    const store = createBrowserTokenStore({ name, locks: null });
    const heard: number[] = [];
    store.subscribe((stored) => heard.push(stored.version));
    const otherTab = new BroadcastChannel(`axios-token-refresh:${name}`);
    otherTab.postMessage({ type: 'tokens', version: 5, tokens: { accessToken: 'v5' } });
    otherTab.postMessage({ type: 'tokens', version: 3, tokens: { accessToken: 'v3' } });
    otherTab.postMessage({ type: 'tokens', version: 6, tokens: null });
    await expect.poll(() => heard).toEqual([5, 6]);
    expect(await store.read()).toEqual({ version: 6, tokens: null });
    otherTab.close();
    await store.close();
  });

  it('reports a listener that throws through the callback-error policy, and the other listeners still hear', async () => {
    const name = nextKey();
    const store = createBrowserTokenStore({ name, locks: null });
    const failure = new TypeError('listener broke');
    const heard: number[] = [];
    store.subscribe(() => {
      throw failure;
    });
    store.subscribe((stored) => heard.push(stored.version));
    const otherTab = new BroadcastChannel(`axios-token-refresh:${name}`);
    const warnings = await warningsDuring(async () => {
      otherTab.postMessage({ type: 'tokens', version: 1, tokens: { accessToken: 'a1' } });
      await expect.poll(() => heard).toEqual([1]);
    });
    expect(warnings.map((warning) => warning.cause)).toEqual([failure]);
    expect(warnings[0]?.message).toContain('a subscriber of the browser token store');
    otherTab.close();
    await store.close();
  });
});

describe('createBrowserTokenStore(): catch-up and lock details (issue 10 item 9)', () => {
  it('wakes two catch-ups that wait at once as soon as the newer tokens arrive (no fallback to polling)', async () => {
    const registry = new FakeLockRegistry();
    const name = nextKey();
    const holder = createBrowserTokenStore({ name, locks: registry.tab('holder') });
    await holder.write({ accessToken: 'a1' }, 0);
    const late = createBrowserTokenStore({ name, locks: registry.tab('late') });
    // The re-ask timer never fires: only the announcement can wake a catch-up.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const both = Promise.all([late.read(), late.read()]);
      const outcome = await Promise.race([both, delay(3000).then(() => 'still waiting')]);
      expect(outcome).toEqual([
        { tokens: { accessToken: 'a1' }, version: 1 },
        { tokens: { accessToken: 'a1' }, version: 1 },
      ]);
    } finally {
      vi.useRealTimers();
    }
    await Promise.all([holder.close(), late.close()]);
  });

  it('does not run the task when its wait ran out before the lock manager granted the lock', async () => {
    // A LockManager that grants late and ignores the signal, as a browser may when the grant is already queued.
    const lateGrant = {
      request: async <T>(_name: string, _options: unknown, callback: () => Promise<T>): Promise<T> => {
        await delay(50);
        return callback();
      },
      query: async () => ({ held: [], pending: [] }),
    } as unknown as LockManager;
    const store = createBrowserTokenStore({ name: nextKey(), locks: lateGrant });
    let ran = false;
    const error = (await store
      .withLock(
        async () => {
          ran = true;
        },
        { leaseMs: 10_000, waitMs: 1 },
      )
      .catch((e: unknown) => e)) as Error;
    expect(ran).toBe(false);
    expect(isTokenRefreshError(error) && error.code).toBe('REFRESH_TIMEOUT');
    expect(error.message).toContain('waiting for the refresh lock');
    await store.close();
  });
});
