import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisTokenStore } from '../../src/redis.js';
import type { TokenSet } from '../../src/tokens.js';
import { startTestRedis } from './support/redis-server.js';
import type { TestRedis } from './support/redis-server.js';
import { INITIAL, startTokenApi } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';
import { bundleNodeScript } from './support/node-bundle.js';

const WORKER_SOURCE = fileURLToPath(new URL('./fleet/worker.ts', import.meta.url));
const PROCESSES = 8;
const REQUESTS_EACH = 50;

interface Done {
  readonly type: 'done';
  readonly ok: number;
  readonly failures: string[];
  readonly accessToken: string | null;
  readonly onTokensCalls: number;
  readonly sessionExpiredCalls: number;
  readonly tokenEvents: (string | null)[];
}

interface Worker {
  readonly id: string;
  readonly child: ChildProcess;
  /** Resolves with the burst's result, or null when the process died first. */
  readonly done: Promise<Done | null>;
}

/** Failures counted by code, so that a failing run prints `{ REFRESH_TIMEOUT: 350 }`, not 350 lines. */
function countByCode(failures: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const code of failures) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

let workerDir: string;
let workerFile: string;
let redisServer: TestRedis;
let redis: Redis;
let api: TokenApi | undefined;
let workers: Worker[] = [];
const prefix = `axios-token-refresh-e2e:${randomUUID()}:`;

beforeAll(async () => {
  // One file with the built package (dist/, reached through its package name) and its dependencies: 8 plain Node
  // processes start in well under a second each, where a TypeScript loader per process would cost seconds.
  workerDir = await mkdtemp(join(tmpdir(), 'axios-token-refresh-fleet-'));
  workerFile = join(workerDir, 'worker.mjs');
  await bundleNodeScript(WORKER_SOURCE, workerFile);
  redisServer = await startTestRedis();
  redis = new Redis(redisServer.url);
});

afterEach(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  workers = [];
  await api?.close();
  api = undefined;
});

afterAll(async () => {
  if (redis) {
    const leftovers = await redis.keys(`${prefix}*`);
    if (leftovers.length > 0) await redis.del(...leftovers);
    await redis.quit();
  }
  await redisServer?.stop();
  if (workerDir) await rm(workerDir, { recursive: true, force: true });
});

/** Stores the grant's first tokens (or `tokens`) under a fresh key, as the process that logged in would. */
async function seed(key: string, tokens: TokenSet = INITIAL): Promise<void> {
  const store = createRedisTokenStore({ redis, key, prefix });
  expect(await store.write(tokens, 0)).not.toBeNull();
  await store.close?.();
}

/** Forks the fleet and waits until every process is connected and ready. */
async function startFleet(apiUrl: string, key: string, refreshTimeoutMs: number): Promise<Worker[]> {
  const started = Array.from({ length: PROCESSES }, (_, index) => {
    const id = `worker-${index}`;
    const child = fork(workerFile, [], {
      env: {
        ...process.env,
        WORKER_ID: id,
        REDIS_URL: redisServer.url,
        API_URL: apiUrl,
        STORE_KEY: key,
        STORE_PREFIX: prefix,
        REFRESH_TIMEOUT_MS: String(refreshTimeoutMs),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: { type: string }) => message.type === 'ready' && resolve());
      child.once('exit', (code) => reject(new Error(`${id} exited with ${code} before it was ready`)));
    });
    const done = new Promise<Done | null>((resolve) => {
      child.on('message', (message: Done) => message.type === 'done' && resolve(message));
      child.once('exit', () => resolve(null));
    });
    return { worker: { id, child, done }, ready };
  });
  workers = started.map((s) => s.worker);
  await Promise.all(started.map((s) => s.ready));
  return workers;
}

describe('createRedisTokenStore() shared by a fleet of 8 Node processes (real redis-server, built package)', () => {
  it('makes exactly one refresh for 8 × 50 concurrent requests that hit an expired token, and every request succeeds', async () => {
    api = await startTokenApi();
    const key = `fleet-${randomUUID()}`;
    await seed(key);
    const fleet = await startFleet(api.url, key, 10_000);

    const started = performance.now();
    for (const worker of fleet) worker.child.send({ type: 'go', requests: REQUESTS_EACH });
    const results = await Promise.all(fleet.map((worker) => worker.done));
    const burstMs = Math.round(performance.now() - started);

    expect(results.every((result) => result !== null)).toBe(true);
    const done = results as Done[];
    expect(countByCode(done.flatMap((result) => result.failures))).toEqual({});
    expect(done.reduce((sum, result) => sum + result.ok, 0)).toBe(PROCESSES * REQUESTS_EACH);
    // One rotation, and the spent refresh token was never presented again (the grant was not revoked).
    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([['refresh-0', 'rotated']]);
    expect(api.revoked()).toBe(false);
    expect(api.api.ok).toBe(PROCESSES * REQUESTS_EACH);
    // Every process ends on the new tokens; onTokens ran once, in the process that refreshed; every process got the
    // `tokens` event once.
    expect(done.map((result) => result.accessToken)).toEqual(Array(PROCESSES).fill('access-1'));
    expect(done.reduce((sum, result) => sum + result.onTokensCalls, 0)).toBe(1);
    expect(done.map((result) => result.tokenEvents)).toEqual(Array(PROCESSES).fill(['access-1']));
    console.info(
      `[e2e redis fleet] ${PROCESSES}×${REQUESTS_EACH} requests, ${api.api.unauthorized} answered 401, ` +
        `${api.rotations()} refresh, burst ${burstMs} ms`,
    );
  });

  it('recovers within the lease when the process holding the lock is killed mid-refresh (SIGKILL)', async () => {
    api = await startTokenApi();
    const key = `fleet-kill-${randomUUID()}`;
    await seed(key);
    // The session's lease grows with refreshTimeoutMs; a short one keeps the test short, but the refresh call must
    // reach the server before it times out on a loaded 2-core machine (it arrives ~0.7 s into the burst).
    const refreshTimeoutMs = 3000;
    const fleet = await startFleet(api.url, key, refreshTimeoutMs);
    let killed: Worker | undefined;
    let killedAt = 0;
    let lease = 0;
    api.hangNextRefresh((client) => {
      killed = fleet.find((worker) => worker.id === client);
      killedAt = performance.now();
      void redis.pttl(`${prefix}${key}:lock`).then((ms) => (lease = ms));
      killed?.child.kill('SIGKILL');
    });

    for (const worker of fleet) worker.child.send({ type: 'go', requests: REQUESTS_EACH });
    const results = await Promise.all(fleet.map((worker) => worker.done));
    const recoveryMs = Math.round(performance.now() - killedAt);

    expect(killed).toBeDefined();
    const survivors = results.filter((result): result is Done => result !== null);
    expect(survivors).toHaveLength(PROCESSES - 1);
    expect(countByCode(survivors.flatMap((result) => result.failures))).toEqual({});
    expect(survivors.reduce((sum, result) => sum + result.ok, 0)).toBe((PROCESSES - 1) * REQUESTS_EACH);
    // The dead holder's refresh never completed, so presenting refresh-0 again is no reuse; one rotation in all.
    expect(api.refreshRequests.map((r) => r.outcome)).toEqual(['abandoned', 'rotated']);
    expect(api.revoked()).toBe(false);
    expect(survivors.map((result) => result.accessToken)).toEqual(Array(PROCESSES - 1).fill('access-1'));
    // Nobody took over before the dead holder's lease ran out, and the fleet was back soon after it did.
    expect(lease).toBeGreaterThan(0);
    expect(recoveryMs).toBeLessThan(lease + 5000);
    console.info(
      `[e2e redis fleet] holder killed; lease left ${lease} ms; all survivors done ${recoveryMs} ms after the kill`,
    );
  });

  it('ends the session in every process when the refresh token is dead: every waiting request rejects with SESSION_EXPIRED, and sessionExpired fires once per process', async () => {
    api = await startTokenApi();
    const key = `fleet-dead-${randomUUID()}`;
    // A refresh token the server has never issued (or already rotated away): the refresh answers invalid_grant.
    await seed(key, { accessToken: 'access-0', refreshToken: 'refresh-dead' });
    const fleet = await startFleet(api.url, key, 10_000);

    for (const worker of fleet) worker.child.send({ type: 'go', requests: REQUESTS_EACH });
    const results = await Promise.all(fleet.map((worker) => worker.done));

    expect(results.every((result) => result !== null)).toBe(true);
    const done = results as Done[];
    // Not one request may go out again without a token and come back as the API's raw 401.
    expect(countByCode(done.flatMap((result) => result.failures))).toEqual({
      SESSION_EXPIRED: PROCESSES * REQUESTS_EACH,
    });
    expect(done.map((result) => result.sessionExpiredCalls)).toEqual(Array(PROCESSES).fill(1));
    expect(done.map((result) => result.accessToken)).toEqual(Array(PROCESSES).fill(null));
    // The process that held the lock asked once; the others learned the outcome from the store.
    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([['refresh-dead', 'unknown']]);
    expect(JSON.parse((await redis.get(`${prefix}${key}:tokens`)) ?? 'null')).toMatchObject({ tokens: null });
  });
});
