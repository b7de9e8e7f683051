/**
 * Found (s9 review of 154ba6b): a token endpoint that refuses a dead refresh token with a 400 whose JSON body is not
 * RFC 6749 §5.2 (no `error` string) is now REFRESH_FAILED, tokens kept: the user is never logged out, and every burst
 * of requests goes to the token endpoint again with the dead refresh token (src/oauth2.ts refreshVerdict).
 */
import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { refreshTokenGrant } from '../../src/oauth2.js';
import { isTokenRefreshError } from '../../src/errors.js';
import { readBody, sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();

// What real token endpoints answer to a revoked or expired refresh token, without RFC 6749 §5.2's `error`.
const refusals: Array<[string, number, unknown]> = [
  // Fitbit Web API (dev.fitbit.com "Troubleshooting Guide": 400 invalid_grant in its own envelope).
  [
    'Fitbit',
    400,
    { errors: [{ errorType: 'invalid_grant', message: 'Refresh token invalid: rt-dead.' }], success: false },
  ],
  // Strava (`/oauth/token`): 400 Bad Request with a field error on the refresh token.
  [
    'Strava',
    400,
    { message: 'Bad Request', errors: [{ resource: 'RefreshToken', field: 'refresh_token', code: 'invalid' }] },
  ],
  // A NestJS/Express auth server's UnauthorizedException.
  ['NestJS', 401, { statusCode: 401, message: 'Invalid refresh token' }],
];

describe('a dead refresh token refused with a JSON body that is not an RFC 6749 error', () => {
  for (const [vendor, status, body] of refusals) {
    it(`ends the session (${vendor}, HTTP ${status})`, async () => {
      let tokenRequests = 0;
      const auth = await serve(async (req, res) => {
        await readBody(req);
        tokenRequests += 1;
        sendJson(res, status, body);
      });
      const api = await serve((req, res) =>
        req.headers.authorization === 'Bearer at-live'
          ? sendJson(res, 200, {})
          : sendJson(res, 401, {}, { 'www-authenticate': 'Bearer error="invalid_token"' }),
      );
      const instance = axios.create({ baseURL: api.url });
      const handle = attachRefresh(instance, {
        tokens: { accessToken: 'at-expired', refreshToken: 'rt-dead' },
        refresh: refreshTokenGrant({ tokenUrl: `${auth.url}/token`, clientId: 'app' }),
      });
      const burst = async () =>
        Promise.all(Array.from({ length: 100 }, () => instance.get('/me').catch((error: unknown) => error)));
      const first = await burst();
      const codes = new Set(first.map((error) => (isTokenRefreshError(error) ? error.code : String(error))));
      await burst();
      await burst();
      // The user is told to log in again, and the dead refresh token is not presented again and again.
      expect([...codes]).toEqual(['SESSION_EXPIRED']);
      expect(handle.getTokens()).toBeNull();
      expect(tokenRequests).toBe(1);
    });
  }
});
