// One Node process of the fleet: an axios instance with attachRefresh and the Redis store, driven by the test over
// IPC. It loads the built package (dist/) by its name, as a user would.
import axios from 'axios';
import { Redis } from 'ioredis';
import type * as Core from '../../../src/index.js';
import type * as RedisEntry from '../../../src/redis.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`worker: ${name} is not set`);
  return value;
};

const id = env('WORKER_ID');
const { attachRefresh, isTokenRefreshError } = (await import('axios-token-refresh' as string)) as typeof Core;
const { createRedisTokenStore } = (await import('axios-token-refresh/redis' as string)) as typeof RedisEntry;

const redis = new Redis(env('REDIS_URL'));
const store = createRedisTokenStore({ redis, key: env('STORE_KEY'), prefix: env('STORE_PREFIX') });
const api = axios.create({ baseURL: env('API_URL') });
const tokenEndpoint = axios.create({ baseURL: env('API_URL') });
let onTokensCalls = 0;
let sessionExpiredCalls = 0;
const tokenEvents: (string | null)[] = [];

const attached = attachRefresh(api, {
  store,
  refreshTimeoutMs: Number(env('REFRESH_TIMEOUT_MS')),
  refresh: async (current, { signal }) => {
    const { data } = await tokenEndpoint.post<{ access_token: string; refresh_token: string; expires_in: number }>(
      '/token',
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
      { signal, headers: { 'x-client': id } },
    );
    return {
      accessToken: data.access_token,
      refreshToken: data.refresh_token,
      expiresAt: Date.now() + data.expires_in * 1000,
    };
  },
  onTokens: () => {
    onTokensCalls += 1;
  },
});
attached.on('tokens', (tokens) => tokenEvents.push(tokens?.accessToken ?? null));
attached.on('sessionExpired', () => {
  sessionExpiredCalls += 1;
});

await redis.ping();
process.send?.({ type: 'ready' });

process.on('message', (message: { type: string; requests?: number }) => {
  if (message.type === 'go') void burst(message.requests ?? 1);
  if (message.type === 'exit') void exit();
});

async function burst(requests: number): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: requests }, (_, i) => api.get(`/api/item/${i}`)));
  const failures = results.flatMap((result) =>
    result.status === 'fulfilled'
      ? []
      : [isTokenRefreshError(result.reason) ? result.reason.code : String((result.reason as Error)?.message)],
  );
  process.send?.({
    type: 'done',
    ok: results.length - failures.length,
    failures,
    accessToken: attached.getTokens()?.accessToken ?? null,
    onTokensCalls,
    sessionExpiredCalls,
    tokenEvents,
  });
}

async function exit(): Promise<void> {
  attached.detach();
  await store.close?.();
  await redis.quit();
  process.exit(0);
}
