/**
 * Issue 6's figure: how many refreshes a burst makes when several contexts share one login. Four axios instances
 * (or four sessions standing for four processes) each send their share of the burst after a server-side expiry.
 * The browser-tabs row runs in Debian's Chromium when it is installed (see browser-tabs.ts).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import type { AxiosInstance } from 'axios';
import { attachRefresh, createTokenSession } from '../src/index.js';
import type { TokenStore } from '../src/index.js';
import { BROWSER_REQUESTS_PER_TAB, browserTabs } from './browser-tabs.js';
import { oursRefresh, oursTokens } from './contenders.js';
import { elapsedUs, now, sleep } from './measure.js';
import { SimApi } from './sim-api.js';

export interface SharingResult {
  readonly mode: string;
  readonly contexts: number;
  readonly requests: number;
  readonly failed: number;
  readonly refreshCalls: number;
  readonly spentPresented: number;
  readonly revoked: boolean;
  readonly wallMs: number;
}

export interface SharingSkip {
  readonly mode: string;
  readonly skipped: string;
}

interface Setup {
  readonly instances: readonly AxiosInstance[];
  dispose(): Promise<void>;
}

async function measure(
  mode: string,
  contexts: number,
  perContext: number,
  setup: (api: SimApi, tokens: ReturnType<SimApi['login']>) => Promise<Setup>,
): Promise<SharingResult> {
  const api = new SimApi();
  const tokens = api.login();
  const { instances, dispose } = await setup(api, tokens);
  // Everyone has its tokens before the burst (the Redis sessions load theirs from the store).
  await Promise.all(instances.map((http) => http.get('/api/items')));
  api.expireAccessTokens();
  api.reset();
  const start = now();
  const settled = await Promise.allSettled(
    instances.flatMap((http) => Array.from({ length: perContext }, () => http.get('/api/items'))),
  );
  const wallMs = elapsedUs(start) / 1000;
  await sleep(api.tokenLatencyMs * 3 + 10);
  await dispose();
  return {
    mode,
    contexts,
    requests: settled.length,
    failed: settled.filter((result) => result.status === 'rejected').length,
    refreshCalls: api.counters.refreshCalls,
    spentPresented: api.counters.spentPresented,
    revoked: api.isRevoked(tokens.refresh_token),
    wallMs,
  };
}

function instancesOf(api: SimApi, count: number): AxiosInstance[] {
  return Array.from({ length: count }, () => axios.create({ adapter: api.adapter }));
}

/** Answers whether a Redis answers PING at 127.0.0.1:6379 within a second; never retries. */
async function redisClient(): Promise<{ client: import('ioredis').Redis } | { why: string }> {
  const { Redis } = await import('ioredis');
  const client = new Redis({
    host: '127.0.0.1',
    port: 6379,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return { client };
  } catch (error) {
    client.disconnect();
    return { why: `no Redis answered at 127.0.0.1:6379 (${(error as Error).message})` };
  }
}

/**
 * N sessions (standing for N processes), each with its own file store on one token file: every store instance has its
 * own lock owner and watcher, so the lock and the announcements go through the filesystem as between processes.
 */
export async function fileStoreSharing(contexts = 4, perContext = 2500): Promise<SharingResult> {
  const { createFileTokenStore } = await import('../src/file.js');
  const dir = mkdtempSync(join(tmpdir(), 'axios-token-refresh-bench-'));
  try {
    return await measure(
      `${contexts} sessions (as ${contexts} processes), one token file`,
      contexts,
      perContext,
      async (api, tokens) => {
        const instances = instancesOf(api, contexts);
        const sessions = instances.map((http) => {
          const store = createFileTokenStore({ path: join(dir, 'tokens.json') });
          const session = createTokenSession({ tokens: oursTokens(tokens), refresh: oursRefresh(api), store });
          attachRefresh(http, { session });
          return { session, store };
        });
        return {
          instances,
          dispose: async () => {
            for (const { session, store } of sessions) {
              await session.close();
              await store.close();
            }
          },
        };
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function sharingModes(contexts = 4, perContext = 2500): Promise<(SharingResult | SharingSkip)[]> {
  const results: (SharingResult | SharingSkip)[] = [];

  results.push(
    await measure(
      `${contexts} instances, one attachRefresh each (nothing shared)`,
      contexts,
      perContext,
      async (api, tokens) => {
        const instances = instancesOf(api, contexts);
        const attached = instances.map((http) =>
          attachRefresh(http, { tokens: oursTokens(tokens), refresh: oursRefresh(api) }),
        );
        return {
          instances,
          dispose: async () => {
            for (const one of attached) await one.close();
          },
        };
      },
    ),
  );

  results.push(
    await measure(`${contexts} instances, one createTokenSession`, contexts, perContext, async (api, tokens) => {
      const instances = instancesOf(api, contexts);
      const session = createTokenSession({ tokens: oursTokens(tokens), refresh: oursRefresh(api) });
      for (const http of instances) attachRefresh(http, { session });
      return { instances, dispose: () => session.close() };
    }),
  );

  const redisMode = `${contexts} sessions (as ${contexts} processes), one Redis store`;
  if (!existsSync(new URL('../src/redis.ts', import.meta.url))) {
    results.push({ mode: redisMode, skipped: 'src/redis.ts does not exist yet' });
  } else {
    const connection = await redisClient();
    if ('why' in connection) {
      results.push({ mode: redisMode, skipped: connection.why });
    } else {
      const { createRedisTokenStore } = (await import('../src/redis.js')) as {
        createRedisTokenStore: (options: {
          redis: import('ioredis').Redis;
          key: string;
          prefix?: string;
        }) => TokenStore;
      };
      const key = `bench-${process.pid}-${Date.now()}`;
      const prefix = 'axios-token-refresh-bench:';
      const clients: import('ioredis').Redis[] = [];
      try {
        results.push(
          await measure(redisMode, contexts, perContext, async (api, tokens) => {
            const instances = instancesOf(api, contexts);
            const sessions = instances.map((http) => {
              const redis = connection.client.duplicate();
              clients.push(redis);
              const store = createRedisTokenStore({ redis, key, prefix });
              const session = createTokenSession({ tokens: oursTokens(tokens), refresh: oursRefresh(api), store });
              attachRefresh(http, { session });
              return { session, store };
            });
            return {
              instances,
              dispose: async () => {
                for (const { session, store } of sessions) {
                  await session.close();
                  await store.close?.();
                }
              },
            };
          }),
        );
      } finally {
        await connection.client.del(`${prefix}${key}:tokens`, `${prefix}${key}:lock`);
        for (const client of clients) client.disconnect();
        connection.client.disconnect();
      }
    }
  }

  results.push(await fileStoreSharing(contexts, perContext));

  results.push(
    await browserTabs(
      `${contexts} browser tabs × ${BROWSER_REQUESTS_PER_TAB} (Chromium over HTTP; Web Locks + BroadcastChannel)`,
      contexts,
    ),
  );
  return results;
}
