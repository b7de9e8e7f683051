/**
 * Found (s9 review): after a failed refresh (REFRESH_FAILED, tokens kept) the 401s of the same burst that come back
 * later each start a refresh of their own: 100 concurrent requests made 49 token requests (then 1 per later burst).
 * Reachable now for every 400/401 without an OAuth error body too (src/oauth2.ts refreshVerdict).
 */
import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { refreshTokenGrant } from '../../src/oauth2.js';
import { readBody, sendJson, serveEach } from '../support/local-server.js';

const serve = serveEach();

describe('one burst of 401s while the token endpoint fails', () => {
  for (const [label, status, body] of [
    ['503', 503, {}],
    ['a 400 without an OAuth error', 400, { message: 'Bad Request' }],
  ] as const) {
    it(`makes one token request, not one per late 401 (${label})`, async () => {
      let tokenRequests = 0;
      const auth = await serve(async (req, res) => {
        await readBody(req);
        tokenRequests += 1;
        sendJson(res, status, body);
      });
      const api = await serve((_req, res) => sendJson(res, 401, {}, { 'www-authenticate': 'Bearer' }));
      const instance = axios.create({ baseURL: api.url });
      attachRefresh(instance, {
        tokens: { accessToken: 'at-1', refreshToken: 'rt-1' },
        refresh: refreshTokenGrant({ tokenUrl: `${auth.url}/token`, clientId: 'app' }),
      });
      await Promise.all(Array.from({ length: 100 }, () => instance.get('/me').catch(() => undefined)));
      // "One refresh for every concurrent 401": a little slack for a 401 that lands after the next request began.
      expect(tokenRequests).toBeLessThanOrEqual(2);
    });
  }
});
