// One Node process of a DPoP fleet: attachRefresh with the Redis store, a DPoP key imported from the JWK the fleet
// shares, and refreshTokenGrant against oidc-provider; driven by the test over IPC. Loads the built package by name.
import axios from 'axios';
import { Redis } from 'ioredis';
import type * as Core from '../../../src/index.js';
import type * as DpopEntry from '../../../src/dpop.js';
import type * as RedisEntry from '../../../src/redis.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`dpop worker: ${name} is not set`);
  return value;
};

const { attachRefresh, isTokenRefreshError, refreshTokenGrant } = (await import(
  'axios-token-refresh' as string
)) as typeof Core;
const { createRedisTokenStore } = (await import('axios-token-refresh/redis' as string)) as typeof RedisEntry;
const { createDpop } = (await import('axios-token-refresh/dpop' as string)) as typeof DpopEntry;

const redis = new Redis(env('REDIS_URL'));
const store = createRedisTokenStore({ redis, key: env('STORE_KEY'), prefix: env('STORE_PREFIX') });
const dpop = await createDpop({ privateJwk: JSON.parse(env('DPOP_JWK')) as JsonWebKey });
const api = axios.create({ baseURL: env('API_URL') });
const attached = attachRefresh(api, {
  store,
  dpop,
  refresh: refreshTokenGrant({ tokenUrl: env('TOKEN_URL'), clientId: env('CLIENT_ID'), authMethod: 'none', dpop }),
  leewayMs: 0,
});

await redis.ping();
process.send?.({ type: 'ready', thumbprint: dpop.thumbprint });

process.on('message', (message: { type: string; requests?: number }) => {
  if (message.type === 'go') void burst(message.requests ?? 1);
  if (message.type === 'exit') void exit();
});

async function burst(requests: number): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: requests }, (_, i) => api.get(`/items/${i}?n=${i}`)));
  const failures = results.flatMap((result) =>
    result.status === 'fulfilled'
      ? []
      : [isTokenRefreshError(result.reason) ? result.reason.code : String((result.reason as Error)?.message)],
  );
  process.send?.({ type: 'done', ok: results.length - failures.length, failures });
}

async function exit(): Promise<void> {
  attached.detach();
  await store.close?.();
  await redis.quit();
  process.exit(0);
}
