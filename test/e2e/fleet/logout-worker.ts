// One Node process sharing a login over Redis, for the logout test: an axios instance with attachRefresh, the Redis
// store and refreshTokenGrant (with the token API's revocation endpoint), driven by the test over IPC. It loads the
// built package (dist/) by its name, as a user would. Every command gets one reply with the same `id`.
import axios from 'axios';
import { Redis } from 'ioredis';
import type * as Core from '../../../src/index.js';
import type * as RedisEntry from '../../../src/redis.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`logout-worker: ${name} is not set`);
  return value;
};

/** What the test asks for. */
export type Command =
  | { readonly id: number; readonly type: 'burst'; readonly requests: number }
  | { readonly id: number; readonly type: 'logout' }
  | { readonly id: number; readonly type: 'state' };

/** The answer to `burst`: failures by their TokenRefreshError code (or message). */
export interface BurstResult {
  readonly ok: number;
  readonly failures: string[];
}

/** The answer to `logout`. */
export interface LogoutReply {
  readonly revoked: boolean;
  readonly error: string | null;
}

/** The answer to `state`. */
export interface WorkerState {
  readonly accessToken: string | null;
  /** The access token of every `tokens` event, `null` for a `tokens` event with null. */
  readonly tokenEvents: (string | null)[];
  readonly onTokens: (string | null)[];
  readonly sessionExpiredCalls: number;
  /** The code of every `refreshError` event. */
  readonly refreshErrors: string[];
}

const id = env('WORKER_ID');
const apiUrl = env('API_URL');
const { attachRefresh, isTokenRefreshError, refreshTokenGrant } = (await import(
  'axios-token-refresh' as string
)) as typeof Core;
const { createRedisTokenStore } = (await import('axios-token-refresh/redis' as string)) as typeof RedisEntry;

const redis = new Redis(env('REDIS_URL'));
const store = createRedisTokenStore({ redis, key: env('STORE_KEY'), prefix: env('STORE_PREFIX') });
const api = axios.create({ baseURL: apiUrl });
const onTokens: (string | null)[] = [];
const tokenEvents: (string | null)[] = [];
let sessionExpiredCalls = 0;
const refreshErrors: string[] = [];

const attached = attachRefresh(api, {
  store,
  refreshTimeoutMs: Number(env('REFRESH_TIMEOUT_MS')),
  refresh: refreshTokenGrant({
    tokenUrl: `${apiUrl}/token`,
    revocationUrl: `${apiUrl}/revoke`,
    clientId: 'fleet',
    authMethod: 'none',
    headers: () => ({ 'x-client': id }),
  }),
  onTokens: (tokens) => void onTokens.push(tokens?.accessToken ?? null),
});
attached.on('tokens', (tokens) => tokenEvents.push(tokens?.accessToken ?? null));
attached.on('sessionExpired', () => {
  sessionExpiredCalls += 1;
});
attached.on('refreshError', (error) => refreshErrors.push(error.code));

await redis.ping();
process.send?.({ type: 'ready' });

const codeOf = (reason: unknown): string =>
  isTokenRefreshError(reason) ? reason.code : String((reason as Error | undefined)?.message ?? reason);

async function run(command: Command): Promise<BurstResult | LogoutReply | WorkerState> {
  if (command.type === 'burst') {
    const results = await Promise.allSettled(
      Array.from({ length: command.requests }, (_, i) => api.get(`/api/item/${i}`)),
    );
    const failures = results.flatMap((result) => (result.status === 'fulfilled' ? [] : [codeOf(result.reason)]));
    return { ok: results.length - failures.length, failures };
  }
  if (command.type === 'logout') {
    const result = await attached.logout();
    return { revoked: result.revoked, error: result.error?.code ?? null };
  }
  return {
    accessToken: attached.getTokens()?.accessToken ?? null,
    tokenEvents,
    onTokens,
    sessionExpiredCalls,
    refreshErrors,
  };
}

process.on('message', (command: Command) => {
  void run(command).then(
    (result) => process.send?.({ type: 'reply', id: command.id, result }),
    (error: unknown) => process.send?.({ type: 'reply', id: command.id, error: codeOf(error) }),
  );
});
