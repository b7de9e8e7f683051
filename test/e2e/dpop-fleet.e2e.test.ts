import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpop } from '../../src/dpop.js';
import { createRedisTokenStore } from '../../src/redis.js';
import { startOidcDpop, type OidcDpopHarness } from '../support/oidc-dpop.js';
import { startTestRedis, type TestRedis } from './support/redis-server.js';
import { bundleNodeScript } from './support/node-bundle.js';

const PROCESSES = 4;
const REQUESTS_EACH = 20;
const EXPIRIES = 2;

interface Message {
  readonly type: 'ready' | 'done';
  readonly thumbprint?: string;
  readonly ok?: number;
  readonly failures?: string[];
}

let workerDir: string;
let workerFile: string;
let redisServer: TestRedis;
let redis: Redis;
let oidc: OidcDpopHarness;
const children: ChildProcess[] = [];
const prefix = `axios-token-refresh-dpop-e2e:${randomUUID()}:`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

beforeAll(async () => {
  workerDir = await mkdtemp(join(tmpdir(), 'axios-token-refresh-dpop-fleet-'));
  workerFile = join(workerDir, 'worker.mjs');
  await bundleNodeScript(fileURLToPath(new URL('./fleet/dpop-worker.ts', import.meta.url)), workerFile);
  redisServer = await startTestRedis();
  redis = new Redis(redisServer.url);
  oidc = await startOidcDpop({ accessTokenTtlSeconds: 2 });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (redis) {
    const leftovers = await redis.keys(`${prefix}*`);
    if (leftovers.length > 0) await redis.del(...leftovers);
    await redis.quit();
  }
  await redisServer?.stop();
  await oidc?.close();
  if (workerDir) await rm(workerDir, { recursive: true, force: true });
});

/** The next message of `type` from a child, or null when it exits first. */
function next(child: ChildProcess, type: Message['type']): Promise<Message | null> {
  return new Promise((resolve) => {
    const onMessage = (message: Message): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', () => resolve(null));
  });
}

describe('DPoP in a fleet of Node processes sharing tokens in Redis and a key from one JWK', () => {
  it(`makes one refresh per expiry for ${PROCESSES} processes, all signing with the same key`, async () => {
    const source = await createDpop({ extractable: true });
    const jwk = JSON.stringify(await source.exportPrivateJwk());
    const login = await oidc.login('public', source.thumbprint);
    const key = `dpop-fleet-${randomUUID()}`;
    const seeded = createRedisTokenStore({ redis, key, prefix });
    expect(await seeded.write(login, 0)).not.toBeNull();

    const fleet = Array.from({ length: PROCESSES }, () =>
      fork(workerFile, [], {
        env: {
          ...process.env,
          REDIS_URL: redisServer.url,
          STORE_KEY: key,
          STORE_PREFIX: prefix,
          DPOP_JWK: jwk,
          API_URL: oidc.apiUrl,
          TOKEN_URL: oidc.tokenUrl,
          CLIENT_ID: oidc.clients.public.clientId,
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    children.push(...fleet);
    const ready = await Promise.all(fleet.map((child) => next(child, 'ready')));
    expect(ready.map((message) => message?.thumbprint)).toEqual(Array(PROCESSES).fill(source.thumbprint));

    const refreshes = oidc.stats.refreshes;
    for (let expiry = 1; expiry <= EXPIRIES; expiry += 1) {
      const current = await seeded.read();
      await sleep((current.tokens?.expiresAt ?? Date.now()) + 150 - Date.now());
      const done = fleet.map((child) => next(child, 'done'));
      for (const child of fleet) child.send({ type: 'go', requests: REQUESTS_EACH });
      const results = await Promise.all(done);
      expect(results.map((result) => [result?.ok, result?.failures])).toEqual(
        Array(PROCESSES).fill([REQUESTS_EACH, []]),
      );
      expect(oidc.stats.refreshes - refreshes).toBe(expiry);
    }
    expect(oidc.spentRefreshTokensPresented()).toEqual([]);
    expect(oidc.stats.revokedGrants).not.toContain(login.grantId);
    await seeded.close?.();
    for (const child of fleet) child.send({ type: 'exit' });
  });
});
