// Adversarial review of the scope check and the shared stores (review2). Every test here failed on the branch it was
// written against; each names the behaviour that should hold.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import axios from 'axios';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { attachRefresh, createTokenSession, type TokenSet } from '../src/index.js';
import { createBrowserTokenStore } from '../src/browser.js';
import { createRedisTokenStore } from '../src/redis.js';
import { FakeLockRegistry } from './e2e/support/fake-web-locks.js';
import { startTestRedis, type TestRedis } from './e2e/support/redis-server.js';
import { listen, type LocalServer } from './support/local-server.js';

let redisServer: TestRedis;
let clientA: Redis;
let clientB: Redis;
const prefix = `axios-token-refresh-review2:${randomUUID()}:`;
let keys = 0;
const nextKey = (): string => `login-${(keys += 1)}`;
const servers: LocalServer[] = [];

beforeAll(async () => {
  redisServer = await startTestRedis();
  clientA = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  clientB = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  await Promise.all([clientA.ping(), clientB.ping()]);
});

afterAll(async () => {
  if (clientA) {
    const leftovers = await clientA.keys(`${prefix}*`);
    if (leftovers.length > 0) await clientA.del(...leftovers);
    await clientA.quit();
  }
  await clientB?.quit();
  await redisServer?.stop();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  vi.restoreAllMocks();
});

/** An API that accepts only `Bearer <accepted()>` and answers anything else with a Bearer 401; records arrivals. */
async function startApi(accepted: () => string, host = '127.0.0.1') {
  const arrivals: { host: string; authorization: string | undefined }[] = [];
  const server = await listen((req, res) => {
    arrivals.push({ host: req.headers.host ?? '', authorization: req.headers.authorization });
    if (req.headers.authorization === `Bearer ${accepted()}`) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    }
  }, host);
  servers.push(server);
  return { server, arrivals };
}

/** A refresh that hands out `access-<n>` / `refresh-<n+1>` and counts its calls. */
function countingRefresh() {
  const calls: (string | undefined)[] = [];
  const refresh = vi.fn(async (tokens: TokenSet): Promise<TokenSet> => {
    calls.push(tokens.refreshToken);
    return { accessToken: `access-${calls.length + 1}`, refreshToken: `refresh-${calls.length + 1}` };
  });
  return { refresh, calls };
}

async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}

describe('the scope check is made on the request that is really sent', () => {
  // axios runs request interceptors in reverse order of registration (legacyInterceptorReqResOrdering, the default),
  // so an interceptor the app registered before attachRefresh runs after the plugin decided, and may move the request.
  it('an app interceptor registered before attachRefresh that moves the request to another origin: the token does not follow it', async () => {
    const { server, arrivals } = await startApi(() => 'access-1');
    const other = `http://localhost:${server.port}`; // the same server under another name: another origin
    const api = axios.create({ baseURL: server.url });
    api.interceptors.request.use((config) => {
      if (config.url?.startsWith('/files/')) config.baseURL = other;
      return config;
    });
    attachRefresh(api, {
      tokens: { accessToken: 'access-1', refreshToken: 'refresh-1' },
      refresh: countingRefresh().refresh,
    });

    await api.get('/files/1').catch(() => undefined);

    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]?.host).toBe(`localhost:${server.port}`);
    expect(arrivals[0]?.authorization).toBeUndefined();
  });

  it('with the new interceptor order (legacyInterceptorReqResOrdering: false), an interceptor added after attachRefresh that sets an absolute url: the token does not follow it', async () => {
    const { server, arrivals } = await startApi(() => 'access-1');
    const api = axios.create({ baseURL: server.url, transitional: { legacyInterceptorReqResOrdering: false } });
    attachRefresh(api, {
      tokens: { accessToken: 'access-1', refreshToken: 'refresh-1' },
      refresh: countingRefresh().refresh,
    });
    api.interceptors.request.use((config) => ({ ...config, url: `http://localhost:${server.port}/elsewhere` }));

    await api.get('/x').catch(() => undefined);

    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]?.host).toBe(`localhost:${server.port}`);
    expect(arrivals[0]?.authorization).toBeUndefined();
  });

  it('an allowedOrigins function that throws is an app callback error: reported as a TokenRefreshWarning, and the request goes out without the token', async () => {
    const { server, arrivals } = await startApi(() => 'access-1');
    const warnings: Error[] = [];
    // Captured, not printed: a passing run shows no warning lines.
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error) => {
      warnings.push(typeof warning === 'string' ? new Error(warning) : warning);
    });
    try {
      const api = axios.create({ baseURL: server.url });
      attachRefresh(api, {
        tokens: { accessToken: 'access-1', refreshToken: 'refresh-1' },
        refresh: countingRefresh().refresh,
        allowedOrigins: () => {
          throw new Error('the allow-list service is down');
        },
      });

      const outcome = await api.get(`http://localhost:${server.port}/x`).then(
        (response) => response.status,
        (error: { response?: { status?: number } }) => error.response?.status ?? error,
      );

      expect(outcome).toBe(401); // the request went out (without the token); the app's error did not replace it
      expect(arrivals).toEqual([{ host: `localhost:${server.port}`, authorization: undefined }]);
      await eventually(() => warnings.length > 0, 500);
      expect(warnings.map((warning) => warning.name)).toContain('TokenRefreshWarning');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('Redis store: a well-formed record the store did not write itself', () => {
  // Python's json.dumps, redis-cli by hand, or JSON.stringify(record, null, 2) in a seeding script: all valid records
  // that read() accepts, but the Lua compare-and-set only understands the store's own `{"version":n,` prefix.
  const spellings: [string, (tokens: TokenSet) => string][] = [
    [
      'with spaces after the colons (Python json.dumps)',
      (tokens) => `{"version": 1, "tokens": ${JSON.stringify(tokens)}}`,
    ],
    ['with `tokens` before `version`', (tokens) => JSON.stringify({ tokens, version: 1 })],
    ['pretty-printed', (tokens) => JSON.stringify({ version: 1, tokens }, null, 2)],
  ];

  it.each(spellings)(
    'write(tokens, 1) over a version-1 record %s is a compare-and-set on version 1, not a conflict',
    async (_, spell) => {
      const key = nextKey();
      await clientA.set(`${prefix}${key}:tokens`, spell({ accessToken: 'access-1', refreshToken: 'refresh-1' }));
      const store = createRedisTokenStore({ redis: clientA, key, prefix });
      try {
        expect((await store.read()).version).toBe(1);
        const written = await store.write({ accessToken: 'access-2', refreshToken: 'refresh-2' }, 1);
        expect(written?.version).toBe(2);
        expect((await store.read()).tokens?.refreshToken).toBe('refresh-2');
      } finally {
        await store.close();
      }
    },
  );

  it('a session refreshing over such a record keeps its refreshed tokens: one refresh, the request succeeds, Redis holds the new refresh token', async () => {
    const key = nextKey();
    await clientA.set(
      `${prefix}${key}:tokens`,
      `{"version": 1, "tokens": {"accessToken": "access-1", "refreshToken": "refresh-1"}}`,
    );
    const { server } = await startApi(() => 'access-2');
    const { refresh, calls } = countingRefresh();
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    const api = axios.create({ baseURL: server.url });
    attachRefresh(api, { store, refresh });
    try {
      const status = await api.get('/data').then(
        (response) => response.status,
        (error: { response?: { status?: number } }) => error.response?.status ?? error,
      );
      expect(status).toBe(200);
      expect(calls).toEqual(['refresh-1']);
      expect(JSON.parse((await clientA.get(`${prefix}${key}:tokens`)) ?? 'null').tokens.refreshToken).toBe('refresh-2');
    } finally {
      await store.close();
    }
  });
});

describe('Redis store: the key emptied mid-session (Redis restarted without persistence, or restored from an older backup)', () => {
  it('a session whose tokens vanished from Redis is not stuck: its next 401 refreshes once and the request succeeds', async () => {
    const key = nextKey();
    const { server } = await startApi(() => accepted);
    let accepted = 'access-1';
    const { refresh, calls } = countingRefresh();
    const store = createRedisTokenStore({ redis: clientA, key, prefix });
    const api = axios.create({ baseURL: server.url });
    const auth = attachRefresh(api, { store, refresh });
    try {
      await auth.setTokens({ accessToken: 'access-0', refreshToken: 'refresh-0' });
      await auth.setTokens({ accessToken: 'access-1', refreshToken: 'refresh-1' }); // version 2
      expect((await api.get('/data')).status).toBe(200);

      await clientA.del(`${prefix}${key}:tokens`); // what a restart with an empty dataset leaves
      accepted = 'access-2'; // the access token expires at the server

      const status = await api.get('/data').then(
        (response) => response.status,
        (error: { response?: { status?: number } }) => error.response?.status ?? error,
      );
      expect(status).toBe(200);
      expect(calls).toEqual(['refresh-1']);
    } finally {
      await store.close();
    }
  });

  it('a login written after the key was emptied reaches the other processes (a version that went back is not ignored for ever)', async () => {
    const key = nextKey();
    const storeA = createRedisTokenStore({ redis: clientA, key, prefix });
    const storeB = createRedisTokenStore({ redis: clientB, key, prefix });
    const a = createTokenSession({ store: storeA, refresh: countingRefresh().refresh });
    const b = createTokenSession({ store: storeB, refresh: countingRefresh().refresh });
    try {
      await a.setTokens({ accessToken: 'access-1', refreshToken: 'refresh-1' });
      await a.setTokens({ accessToken: 'access-2', refreshToken: 'refresh-2' });
      await a.setTokens({ accessToken: 'access-3', refreshToken: 'refresh-3' }); // version 3
      expect(await b.getAccessToken()).toBe('access-3');

      await clientA.del(`${prefix}${key}:tokens`);
      await a.setTokens({ accessToken: 'access-login', refreshToken: 'refresh-login' }); // a fresh login: version 1

      expect(await eventually(() => b.getTokens()?.accessToken === 'access-login')).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close(), storeA.close(), storeB.close()]);
    }
  });
});

describe('browser store: a catch-up wait is bounded on a clock that jumps', () => {
  it('read() gives up (STORE_FAILED) about 5 s after it began even when the wall clock is set back meanwhile (NTP step, user, VM resume)', async () => {
    const registry = new FakeLockRegistry();
    const name = nextKey();
    // Another tab says it holds version 5 but never answers (it hangs, or its channel is gone).
    const silent = registry.tab('silent');
    void silent.request(
      `axios-token-refresh:${name}:version:5`,
      { mode: 'shared' },
      () => new Promise(() => undefined),
    );
    const store = createBrowserTokenStore({ name, locks: registry.tab('reader') });
    const realNow = Date.now.bind(Date);
    const started = realNow();
    // From the second reading on, the wall clock reads one hour earlier than it is.
    let readings = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => (readings++ === 0 ? realNow() : realNow() - 3_600_000));
    try {
      const outcome = await Promise.race([
        store.read().then(
          () => 'resolved',
          (error: { code?: string }) => error.code,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 8 s'), 8000)),
      ]);
      expect(outcome).toBe('STORE_FAILED');
      expect(realNow() - started).toBeLessThan(8000);
    } finally {
      vi.restoreAllMocks();
      await store.close();
      silent.close();
    }
  });
});

describe('docs/stores.md followed literally', () => {
  it('its first example (read, then `await store.close()`) lets the process exit', () => {
    const markdown = readFileSync(resolve('docs/stores.md'), 'utf8');
    const example = /```ts\n([\s\S]*?)```/.exec(markdown)?.[1];
    expect(example).toContain('store.close()');
    // Inside the package, so that `axios-token-refresh/redis` resolves to this package (dist/) as it would for a user.
    const dir = mkdtempSync(resolve('.review2-docs-'));
    try {
      const source = (example ?? '').replaceAll("'billing-api'", `'review2-docs-${randomUUID()}'`);
      writeFileSync(join(dir, 'example.mts'), source);
      const run = spawnSync(resolve('node_modules/.bin/tsx'), [join(dir, 'example.mts')], {
        timeout: 10_000,
        encoding: 'utf8',
      });
      expect(run.stdout).toContain('logged out 0');
      const timedOut = (run.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
      expect({ exitCode: run.status, stillRunningAfter10s: timedOut }).toEqual({
        exitCode: 0,
        stillRunningAfter10s: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
