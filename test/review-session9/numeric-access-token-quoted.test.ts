/**
 * Found (s9 newcomer review): a `refresh` that resolves a numeric access token (a legacy API's numeric session id, or
 * `Number(data.token)`) is refused with a message that quotes the token:
 *   "Token refresh returned no usable tokens: `accessToken` is `98765432101234` (number), expected a non-empty string".
 * Everywhere else a token of the wrong type is described by its type only (src/tokens.ts stringsProblem: "a token of
 * the wrong type is still a token"; token-response.ts says "`access_token` is a value of type number"), and
 * docs/errors.md promises "No message, String(), toJSON() or refreshError/sessionExpired payload contains an access
 * token". Cause: normalizeRefreshResult in src/tokens.ts describes `accessToken` with describe(), which prints numbers.
 */
import { inspect } from 'node:util';
import axios from 'axios';
import { afterEach, expect, it } from 'vitest';
import { attachRefresh, type TokenRefreshError, type TokenSet } from '../../src/index.js';
import { testPool } from '../support/local-server.js';

const pool = testPool();
afterEach(() => pool.undo());

it('never quotes a numeric access token returned by refresh', async () => {
  const server = await pool.serve((_req, res) => void res.writeHead(401).end('{}'));
  const api = axios.create({ baseURL: server.url });
  const secret = 98765432101234;
  const auth = attachRefresh(api, {
    tokens: { accessToken: 'at-0', refreshToken: 'rt-0' },
    refresh: async () => ({ accessToken: secret, refreshToken: 'rt-1' }) as unknown as TokenSet,
  });
  const reported: TokenRefreshError[] = [];
  auth.on('refreshError', (error) => void reported.push(error));

  const error = (await api.get('/me').catch((e: unknown) => e)) as TokenRefreshError;
  expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
  for (const e of [error, ...reported]) {
    for (const text of [e.message, String(e), JSON.stringify(e), inspect(e, { depth: 10 })]) {
      expect(text).not.toContain(String(secret));
    }
  }
});
