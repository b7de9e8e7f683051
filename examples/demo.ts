/**
 * `npm run demo`: axios-token-refresh against a real OpenID Connect server (oidc-provider) that rotates refresh
 * tokens on every use and revokes the whole grant if one is ever presented twice.
 *
 * It starts the authorization server and a resource API on 127.0.0.1, logs in, then sends waves of concurrent
 * requests around each access token's expiry and prints what happened: requests, 401s, refreshes, and each rotated
 * refresh token persisted to .demo/tokens.json. No token value is ever printed: tokens are shown as #1, #2, …
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import axios from 'axios';
import { attachRefresh } from '../src/index.js';
import type { TokenSet } from '../src/index.js';
import { refreshTokenGrant } from '../src/oauth2.js';
import { startOidc } from '../test/support/oidc.js';

const CYCLES = 3;
/** Each cycle sends a wave of concurrent requests at these offsets (ms) from the access token's expiry. */
const WAVES_MS = [-200, -100, 10, 100, 200];
const WAVE_SIZE = 4;
const TOKENS_FILE = join('.demo', 'tokens.json');

/** Timeline origin: the login. */
let started = Date.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Prints `+1.234s  text`; identical consecutive lines are folded into one with a count. */
const timeline = (() => {
  let pending: { text: string; at: number; count: number } | undefined;
  const flush = (): void => {
    if (!pending) return;
    const stamp = `+${((pending.at - started) / 1000).toFixed(3)}s`.padStart(9);
    console.log(`${stamp}  ${pending.text}${pending.count > 1 ? ` ×${pending.count}` : ''}`);
    pending = undefined;
  };
  return {
    note(text: string): void {
      if (pending?.text === text) pending.count += 1;
      else {
        flush();
        pending = { text, at: Date.now(), count: 1 };
      }
    },
    flush,
  };
})();

/** Names tokens #1, #2… in the order they appear, so the output can follow them without showing them. */
function labels(): (value: string | undefined) => string {
  const seen = new Map<string, number>();
  return (value) => {
    if (value === undefined) return 'none';
    if (!seen.has(value)) seen.set(value, seen.size + 1);
    return `#${seen.get(value)}`;
  };
}

async function main(): Promise<number> {
  const oidc = await startOidc({ accessTokenTtlSeconds: 2 });
  const client = oidc.clients.basic;
  console.log('axios-token-refresh demo');
  console.log(`  authorization server  oidc-provider at ${oidc.issuer} (refresh tokens rotate on every use;`);
  console.log('                        presenting one twice revokes the grant)');
  console.log(`  resource API          ${oidc.apiUrl}/me (accepts only live access tokens)`);
  console.log(`  client                ${client.clientId}, ${client.authMethod}, secret with special characters`);
  console.log(
    `  traffic               ${CYCLES} cycles x ${WAVES_MS.length * WAVE_SIZE} concurrent requests around each 2 s expiry\n`,
  );

  const accessLabel = labels();
  const refreshLabel = labels();
  await mkdir('.demo', { recursive: true });

  const login = await oidc.login('basic');
  started = Date.now();
  timeline.note(
    `logged in: access token ${accessLabel(login.accessToken)}, refresh token ${refreshLabel(login.refreshToken)}`,
  );

  const api = axios.create({ baseURL: oidc.apiUrl });
  // Registered before attachRefresh: axios runs request interceptors last-registered first, so this one sees the
  // Authorization header the plugin attached, and response interceptors in order, so this one sees the raw 401.
  const sent = new Set<string>();
  api.interceptors.request.use((config) => {
    const id = `${String(config.params?.cycle)}-${String(config.params?.n)}`;
    const token = accessLabel(/^Bearer (.+)$/.exec(String(config.headers.Authorization ?? ''))?.[1]);
    timeline.note(`${sent.has(id) ? 'replay' : 'send  '}  GET /me with access token ${token}`);
    sent.add(id);
    return config;
  });
  api.interceptors.response.use(undefined, (error: unknown) => {
    if (axios.isAxiosError(error) && error.response?.status === 401) {
      timeline.note('401     access token expired at the server');
    }
    return Promise.reject(error);
  });

  let persisted = 0;
  const attached = attachRefresh(api, {
    tokens: { accessToken: login.accessToken, refreshToken: login.refreshToken, expiresAt: login.expiresAt },
    refresh: refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...client }),
    onTokens: async (tokens: TokenSet | null) => {
      await writeFile(TOKENS_FILE, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
      persisted += 1;
      timeline.note(
        `saved   access token ${accessLabel(tokens?.accessToken)}, refresh token ${refreshLabel(tokens?.refreshToken)} ` +
          `(rotated) to ${TOKENS_FILE}`,
      );
    },
    // Refresh exactly at expiry, not ahead of it, so the waves meet the expiry: some requests see the 401.
    leewayMs: 0,
    debug: (event) => {
      if (event.type === 'refresh:start') {
        timeline.note(`refresh started (${event.reason === 'unauthorized' ? 'after a 401' : 'token expired'})`);
      } else if (event.type === 'refresh:end') {
        timeline.note(`refresh ${event.outcome === 'ok' ? 'done' : event.outcome} in ${event.durationMs} ms`);
      }
    },
  });

  let ok = 0;
  let failed = 0;
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const current = attached.getTokens()?.accessToken ?? '';
    const expiry = (await oidc.accessTokenExpiry(current)) ?? Date.now();
    timeline.flush();
    console.log(
      `\ncycle ${cycle}: access token ${accessLabel(current)} expires at +${((expiry - started) / 1000).toFixed(3)}s`,
    );
    let n = 0;
    const requests = WAVES_MS.flatMap((offset) =>
      Array.from({ length: WAVE_SIZE }, () => {
        const params = { cycle, n: n++ };
        return sleep(expiry + offset - Date.now()).then(() => api.get('/me', { params }));
      }),
    );
    const results = await Promise.allSettled(requests);
    ok += results.filter((r) => r.status === 'fulfilled').length;
    failed += results.filter((r) => r.status === 'rejected').length;
    timeline.note(`${results.filter((r) => r.status === 'fulfilled').length}/${results.length} requests ok`);
  }
  timeline.flush();

  const presentedTwice = oidc.refreshTokensPresentedTwice().length;
  const grantAlive = await oidc.grantExists(login.grantId);
  console.log('\nsummary');
  console.log(`  requests ok                      ${ok}/${ok + failed}`);
  console.log(`  401s answered by the API         ${oidc.stats.apiUnauthorized} (each replayed after the refresh)`);
  console.log(`  refreshes                        ${oidc.stats.refreshes} (one per expiry)`);
  console.log(`  rotations persisted              ${persisted} (to ${TOKENS_FILE})`);
  console.log(`  refresh tokens presented twice   ${presentedTwice}`);
  console.log(`  grant revoked                    ${grantAlive ? 'no' : 'YES'}`);

  await attached.session.close();
  await oidc.close();
  return failed === 0 && presentedTwice === 0 && grantAlive && oidc.stats.refreshes === CYCLES ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('demo failed:', error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
