/**
 * `npm run demo:dpop`: DPoP-bound tokens (RFC 9449) against a real OpenID Connect server (oidc-provider with DPoP and
 * nonces required at its token endpoint) and a resource API that checks every proof and changes its own nonce twice a
 * second.
 *
 * It logs in a public client with a fresh key, then sends waves of concurrent requests around each access token's
 * expiry and prints what happened: nonce challenges answered by sending again with the new nonce (no refresh), and
 * one refresh per expiry. No token or proof is ever printed.
 */
import axios from 'axios';
import { attachRefresh, refreshTokenGrant } from '../src/index.js';
import { createDpop } from '../src/dpop.js';
import { startOidcDpop } from '../test/support/oidc-dpop.js';

const CYCLES = 3;
/** Each cycle sends a wave of concurrent requests at these offsets (ms) from the access token's expiry. */
const WAVES_MS = [-300, 50, 400];
const WAVE_SIZE = 4;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function main(): Promise<number> {
  const oidc = await startOidcDpop({ accessTokenTtlSeconds: 2, nonceRotationMs: 500 });
  const started = Date.now();
  const say = (text: string): void => console.log(`+${((Date.now() - started) / 1000).toFixed(3)}s`.padStart(9), text);
  try {
    const dpop = await createDpop();
    say(`key made: ES256, non-extractable, thumbprint ${dpop.thumbprint.slice(0, 8)}… (the login's dpop_jkt)`);
    const login = await oidc.login('public', dpop.thumbprint);
    const api = axios.create({ baseURL: oidc.apiUrl });
    api.interceptors.response.use(
      undefined,
      (error: { response?: { status?: number; headers?: Record<string, unknown> } }) => {
        const challenge = String(error.response?.headers?.['www-authenticate'] ?? '');
        if (challenge.includes('use_dpop_nonce'))
          say('  401 use_dpop_nonce: the API wants its new nonce; sending again');
        else if (error.response?.status === 401) say('  401 invalid_token: the access token expired');
        return Promise.reject(error);
      },
    );
    const auth = attachRefresh(api, {
      tokens: login,
      dpop,
      refresh: refreshTokenGrant({ tokenUrl: oidc.tokenUrl, ...oidc.clients.public, dpop }),
      leewayMs: 0,
      debug: (event) => {
        if (event.type === 'refresh:start') say(`refresh starts (${event.reason})`);
        if (event.type === 'refresh:end') say(`refresh ends: ${event.outcome} in ${event.durationMs} ms`);
      },
    });
    let ok = 0;
    let failed = 0;
    for (let cycle = 1; cycle <= CYCLES; cycle += 1) {
      const expiry = auth.getTokens()?.expiresAt ?? Date.now();
      for (const offset of WAVES_MS) {
        await sleep(expiry + offset - Date.now());
        say(`wave of ${WAVE_SIZE} requests, ${offset} ms from expiry #${cycle}`);
        const results = await Promise.allSettled(Array.from({ length: WAVE_SIZE }, (_, i) => api.get(`/items/${i}`)));
        for (const result of results) result.status === 'fulfilled' ? (ok += 1) : (failed += 1);
      }
    }
    const { stats } = oidc;
    console.log('');
    console.log(`requests: ${ok} ok, ${failed} failed`);
    console.log(`refreshes: ${stats.refreshes} for ${CYCLES} expiries`);
    console.log(`nonce challenges answered without a refresh: ${stats.apiNonceChallenges}`);
    console.log(
      `proofs accepted: ${stats.acceptedJtis.length}, each jti unique: ${new Set(stats.acceptedJtis).size === stats.acceptedJtis.length}`,
    );
    console.log(`spent refresh tokens presented again: ${oidc.spentRefreshTokensPresented().length}`);
    auth.detach();
    return failed === 0 && stats.refreshes === CYCLES ? 0 : 1;
  } finally {
    await oidc.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
