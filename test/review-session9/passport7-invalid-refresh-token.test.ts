/**
 * Found (s9 newcomer review): docs/oauth2.md's "Laravel Passport / ProcessMaker" recipe against a real ProcessMaker 4.0
 * (laravel/passport ^7, so league/oauth2-server 7.x). league/oauth2-server before 8.0 answers a refresh token that is
 * expired, revoked or already used with
 *   HTTP 401 {"error":"invalid_request","error_description":"The refresh token is invalid.","hint":"Token has been revoked"}
 * (OAuthServerException::invalidRefreshToken: `new static('The refresh token is invalid.', 8, 'invalid_request', 401, $hint)`).
 *
 * The grant maps every `invalid_request` to CONFIGURATION_ERROR ("check `authMethod` ... and `extraParams`") and keeps
 * the dead tokens, so the login never ends: no SESSION_EXPIRED, no `sessionExpired` event, and every later request
 * presents the dead refresh token again. Expected: the end of the login is SESSION_EXPIRED (the tokens cleared, one
 * refresh attempt), as for `invalid_grant`.
 */
import axios from 'axios';
import { afterEach, expect, it } from 'vitest';
import { attachRefresh, refreshTokenGrant } from '../../src/index.js';
import { sendJson, testPool } from '../support/local-server.js';

const pool = testPool();
afterEach(() => pool.undo());

it('Passport 7 / ProcessMaker 4.0: a refresh token refused with 401 invalid_request ends the session once', async () => {
  let tokenRequests = 0;
  const server = await pool.serve((req, res, body) => {
    if (req.url === '/oauth/token') {
      tokenRequests += 1;
      const form = new URLSearchParams(body);
      expect(form.get('client_id')).toBe('3');
      // league/oauth2-server 7.x, OAuthServerException::invalidRefreshToken('Token has been revoked')
      sendJson(res, 401, {
        error: 'invalid_request',
        error_description: 'The refresh token is invalid.',
        hint: 'Token has been revoked',
        message: 'The refresh token is invalid.',
      });
      return;
    }
    res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('{"message":"Unauthenticated."}');
  });

  const api = axios.create({ baseURL: server.url });
  const saved: unknown[] = [];
  let expired = 0;
  const auth = attachRefresh(api, {
    tokens: { accessToken: 'at-1', refreshToken: 'rt-revoked' },
    // docs/oauth2.md, "Laravel Passport / ProcessMaker", as printed
    refresh: refreshTokenGrant({
      tokenUrl: `${server.url}/oauth/token`,
      clientId: '3',
      clientSecret: 'passport-secret',
      authMethod: 'client_secret_post',
    }),
    onTokens: (tokens) => void saved.push(tokens),
  });
  auth.on('sessionExpired', () => void (expired += 1));

  const codes: unknown[] = [];
  for (let i = 0; i < 3; i += 1) {
    codes.push(
      await api.get('/api/1.0/users').then(
        () => 'ok',
        (error: { code?: unknown }) => error.code,
      ),
    );
  }

  expect(codes).toEqual(['SESSION_EXPIRED', 'SESSION_EXPIRED', 'SESSION_EXPIRED']);
  expect(expired).toBe(1);
  expect(auth.getTokens()).toBeNull();
  expect(saved).toEqual([null]);
  // The dead refresh token is presented once, not once per request.
  expect(tokenRequests).toBe(1);
});
