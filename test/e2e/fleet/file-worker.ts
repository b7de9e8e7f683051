// One Node process sharing a token file: an axios instance with attachRefresh and the file store, driven by the test
// over IPC. It loads the built package (dist/) by its name, as a user would. Besides bursts of API requests it can
// take the refresh lock once (`grab`).
import axios from 'axios';
import type * as Core from '../../../src/index.js';
import type * as FileEntry from '../../../src/file.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`file-worker: ${name} is not set`);
  return value;
};

const id = env('WORKER_ID');
const { attachRefresh, isTokenRefreshError } = (await import('axios-token-refresh' as string)) as typeof Core;
const { createFileTokenStore } = (await import('axios-token-refresh/file' as string)) as typeof FileEntry;

const store = createFileTokenStore({ path: env('TOKEN_FILE') });

type Message =
  | { type: 'go'; burst: number; requests: number }
  | { type: 'grab'; round: number; holdMs: number }
  | { type: 'exit' };

process.on('message', (message: Message) => {
  if (message.type === 'go') void burst(message.burst, message.requests);
  if (message.type === 'grab') void grab(message.round, message.holdMs);
  if (message.type === 'exit') void exit();
});

let onTokensCalls = 0;
const tokenEvents: (string | null)[] = [];
const apiUrl = process.env.API_URL;
const api = axios.create(apiUrl ? { baseURL: apiUrl } : {});
const tokenEndpoint = axios.create(apiUrl ? { baseURL: apiUrl } : {});
const ttlMs = Number(process.env.ACCESS_TTL_MS ?? 300_000);

const attached = apiUrl
  ? attachRefresh(api, {
      store,
      refreshTimeoutMs: Number(process.env.REFRESH_TIMEOUT_MS ?? 10_000),
      refresh: async (current, { signal }) => {
        const { data } = await tokenEndpoint.post<{ access_token: string; refresh_token: string }>(
          '/token',
          new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
          { signal, headers: { 'x-client': id } },
        );
        // The server's tokens live 300 s; the test shortens them here to see several expiries in a few seconds.
        return { accessToken: data.access_token, refreshToken: data.refresh_token, expiresAt: Date.now() + ttlMs };
      },
      onTokens: () => {
        onTokensCalls += 1;
      },
    })
  : undefined;
attached?.on('tokens', (tokens) => tokenEvents.push(tokens?.accessToken ?? null));

process.send?.({ type: 'ready' });

async function burst(number: number, requests: number): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: requests }, (_, i) => api.get(`/api/item/${i}`)));
  const failures = results.flatMap((result) =>
    result.status === 'fulfilled'
      ? []
      : [isTokenRefreshError(result.reason) ? result.reason.code : String((result.reason as Error)?.message)],
  );
  process.send?.({
    type: 'done',
    burst: number,
    ok: results.length - failures.length,
    failures,
    accessToken: attached?.getTokens()?.accessToken ?? null,
    onTokensCalls,
    tokenEvents,
  });
}

async function grab(round: number, holdMs: number): Promise<void> {
  try {
    const span = await store.withLock(
      async () => {
        const start = Date.now();
        await new Promise((resolve) => setTimeout(resolve, holdMs));
        return { start, end: Date.now() };
      },
      { leaseMs: 30_000, waitMs: 30_000 },
    );
    process.send?.({ type: 'grabbed', round, ...span });
  } catch (error) {
    process.send?.({ type: 'grabbed', round, error: String(error) });
  }
}

async function exit(): Promise<void> {
  attached?.detach();
  await store.close();
  process.exit(0);
}
