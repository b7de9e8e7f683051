/**
 * Found (s9 newcomer review): docs/oauth2.md's Keycloak recipe (client secret, Basic by default). Keycloak answers a
 * wrong client secret, or Basic credentials it cannot decode, with
 *   HTTP 401 {"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}
 * (keycloak/keycloak#16923; "Invalid client secret" in older versions), not `invalid_client`. The plugin's hint for
 * `unauthorized_client` says "this client may not use the refresh_token grant: allow it for this client on the
 * authorization server": the wrong fix, sending the developer to the realm's grant settings instead of `clientSecret`
 * / `authMethod` / `basicAuthEncoding` (which the `invalid_client` hint names). Expected: a 401 `unauthorized_client`
 * (a client-authentication failure, RFC 6749 §5.2 uses 401 only for that) names the client credentials options.
 * Cause: CONFIGURATION_HINTS / refreshVerdict in src/oauth2.ts ignore the status.
 */
import axios from 'axios';
import { afterEach, expect, it } from 'vitest';
import { attachRefresh, refreshTokenGrant } from '../../src/index.js';
import { sendJson, testPool } from '../support/local-server.js';

const pool = testPool();
afterEach(() => pool.undo());

it('a Keycloak 401 unauthorized_client (bad client secret) points at clientSecret/authMethod', async () => {
  const server = await pool.serve((req, res) => {
    if (req.url === '/realms/acme/protocol/openid-connect/token') {
      sendJson(res, 401, {
        error: 'unauthorized_client',
        error_description: 'Invalid client or Invalid client credentials',
      });
      return;
    }
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="acme"' }).end();
  });
  const api = axios.create({ baseURL: server.url });
  attachRefresh(api, {
    tokens: { refreshToken: 'offline-token' },
    refresh: refreshTokenGrant({
      tokenUrl: `${server.url}/realms/acme/protocol/openid-connect/token`,
      clientId: 'reporting-job',
      clientSecret: 'wrong-secret',
      scope: 'openid offline_access',
    }),
  });
  const error = (await api.get('/report').catch((e: unknown) => e)) as { code?: string; message: string };
  expect(error.code).toBe('CONFIGURATION_ERROR');
  expect(error.message).toMatch(/clientSecret/);
  expect(error.message).not.toMatch(/may not use the refresh_token grant/);
});
