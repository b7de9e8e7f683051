/**
 * Found (s9 review2 of 997b452): docs/oauth2.md and the changelog say a 400/401 "with a JSON body" ends the session
 * (SESSION_EXPIRED) and only one "whose body is not JSON" is REFRESH_FAILED. src/oauth2.ts interpret passes
 * `body !== undefined` (a JSON *object*) as "JSON": a JSON string such as Express's `res.status(401).json('Invalid
 * refresh token')` is REFRESH_FAILED "not JSON; tokens kept", so a dead refresh token never ends the session and
 * every later burst asks the token endpoint again (the outcome 997b452 set out to fix for Fitbit/Strava bodies).
 */
import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { isTokenRefreshError } from '../../src/errors.js';
import { refreshTokenGrant } from '../../src/oauth2.js';
import { readBody, sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();

describe('a dead refresh token refused with a JSON string body', () => {
  for (const status of [400, 401]) {
    it(`ends the session (HTTP ${status}, application/json "Invalid refresh token")`, async () => {
      const auth = await serve(async (req, res) => {
        await readBody(req);
        sendJson(res, status, 'Invalid refresh token');
      });
      const api = await serve((_req, res) =>
        sendJson(res, 401, {}, { 'www-authenticate': 'Bearer error="invalid_token"' }),
      );
      const instance = axios.create({ baseURL: api.url });
      const handle = attachRefresh(instance, {
        tokens: { accessToken: 'at-expired', refreshToken: 'rt-dead' },
        refresh: refreshTokenGrant({ tokenUrl: `${auth.url}/token`, clientId: 'app' }),
      });
      const error = await instance.get('/me').catch((e: unknown) => e);
      expect(isTokenRefreshError(error) && error.code).toBe('SESSION_EXPIRED');
      expect(handle.getTokens()).toBeNull();
    });
  }
});
