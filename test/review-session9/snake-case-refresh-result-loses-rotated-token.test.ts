/**
 * Found (s9 newcomer review): a hand-written `refresh` that returns the token endpoint's wire format
 * (`{ access_token, refresh_token }`, the commonest mistake when migrating from axios-auth-refresh / axios-jwt) is
 * refused with INVALID_TOKEN_RESPONSE and a helpful message ("`access_token` is there: map ..."). But the server has
 * already rotated: the new refresh token in that answer is dropped (the session only salvages a camelCase
 * `refreshToken` from a refused answer, src/session.ts #refreshUnderLock), so the next request presents the spent
 * refresh token and a server with reuse detection (RFC 9700 §4.14.2) revokes the whole login.
 *
 * errors.md (INVALID_TOKEN_RESPONSE): "Kept, except the refresh token: when the refused answer carries a new one (the
 * server rotated), it replaces the spent one and goes to `onTokens`." Expected: the rotated `refresh_token` is kept
 * like a rotated `refreshToken`, so no spent refresh token is ever presented and the login survives the mapping bug.
 */
import axios from 'axios';
import { afterEach, expect, it } from 'vitest';
import { attachRefresh, type TokenSet } from '../../src/index.js';
import { sendJson, testPool } from '../support/local-server.js';

const pool = testPool();
afterEach(() => pool.undo());

it('keeps the rotated refresh token of a wire-format answer, so the spent one is never presented again', async () => {
  const spent = new Set<string>();
  let live = 'rt-1';
  let generation = 1;
  let reusePresented = 0;
  let familyRevoked = false;
  const server = await pool.serve((req, res, body) => {
    if (req.url === '/auth/refresh') {
      const presented = (JSON.parse(body) as { refreshToken?: string }).refreshToken ?? '';
      if (spent.has(presented)) {
        reusePresented += 1;
        familyRevoked = true; // reuse detection: the whole login is revoked
      }
      if (familyRevoked || presented !== live) {
        sendJson(res, 401, { error: 'invalid_grant' });
        return;
      }
      spent.add(presented);
      generation += 1;
      live = `rt-${generation}`;
      sendJson(res, 200, { access_token: `at-${generation}`, refresh_token: live, expires_in: 300 });
      return;
    }
    const ok = !familyRevoked && req.headers.authorization === `Bearer at-${generation}` && generation > 1;
    res.writeHead(ok ? 200 : 401).end('{}');
  });

  const vendor = axios.create({ baseURL: server.url });
  const api = axios.create({ baseURL: server.url });
  const saved: Array<TokenSet | null> = [];
  attachRefresh(api, {
    tokens: { refreshToken: 'rt-1' },
    // The mistake: the answer's data returned as it is.
    refresh: async ({ refreshToken }, { signal }) =>
      (await vendor.post('/auth/refresh', { refreshToken }, { signal })).data as TokenSet,
    onTokens: (tokens) => void saved.push(tokens),
  });

  const first = await api.get('/me').catch((error: { code?: string }) => error.code);
  expect(first).toBe('INVALID_TOKEN_RESPONSE');
  await api.get('/me').catch(() => undefined);

  expect(reusePresented).toBe(0);
  expect(familyRevoked).toBe(false);
  // The rotated refresh token reached onTokens, so a restart after fixing the mapping resumes the login.
  expect(saved.some((tokens) => tokens?.refreshToken === 'rt-2')).toBe(true);
});
