/**
 * What the fixes of the OAuth review (issue 13) promise beyond the reviewer's own tests: discovery never follows a
 * redirect, answers are capped at 1 MiB, one caller's abort never cancels a discovery others wait on, and the
 * docs/login.md recipes as now written refresh against a real oidc-provider.
 */
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it } from 'vitest';
import { discover, refreshTokenGrant } from '../src/index.js';
import type { RefreshContext, TokenRefreshError, TokenSet } from '../src/index.js';
import { sendJson, testPool } from './support/local-server.js';
import { startOidc } from './support/oidc.js';

const pool = testPool();
const { serve } = pool;
afterEach(async () => {
  await pool.undo();
});

const context = (signal = new AbortController().signal): RefreshContext => ({ signal, reason: 'expired' });

async function failure(work: unknown): Promise<TokenRefreshError> {
  try {
    await work;
  } catch (error) {
    return error as TokenRefreshError;
  }
  throw new Error('expected a rejection');
}

/** A JSON object of about `bytes` bytes (a padding member). */
const padded = (members: Record<string, unknown>, bytes: number): string =>
  JSON.stringify({ ...members, padding: 'x'.repeat(bytes) });

describe('discovery never follows a redirect', () => {
  it('treats a 307 at a metadata location as a miss, never asks the target, and says the redirect was not followed', async () => {
    const asked: string[] = [];
    const elsewhere = await serve((req, res) => {
      asked.push(req.url ?? '');
      sendJson(res, 200, { issuer: issuerUrl, token_endpoint: `${elsewhere.url}/token` });
    });
    const server = await serve((req, res) => {
      res.writeHead(307, { Location: `${elsewhere.url}${req.url}` }).end();
    });
    const issuerUrl = server.url;
    const error = await failure(discover(issuerUrl));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('HTTP 307, a redirect, not followed');
    expect(asked).toEqual([]);
  });
});

describe('answers are capped at 1 MiB', () => {
  it('refuses a metadata document over 1 MiB with REFRESH_FAILED and sends no refresh token', async () => {
    let tokenCalls = 0;
    const server = await serve((req, res) => {
      if (req.url === '/token') {
        tokenCalls += 1;
        sendJson(res, 200, { access_token: 'at-2', token_type: 'Bearer' });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(padded({ issuer: server.url, token_endpoint: `${server.url}/token` }, 2 * 1_048_576));
    });
    const error = await failure(
      refreshTokenGrant({ issuer: server.url, clientId: 'app' })({ refreshToken: 'rt' }, context()),
    );
    expect(error.code).toBe('REFRESH_FAILED');
    expect(tokenCalls).toBe(0);
  });

  it('refuses a token answer over 1 MiB with REFRESH_FAILED', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(padded({ access_token: 'at-2', token_type: 'Bearer' }, 2 * 1_048_576));
    });
    const refresh = refreshTokenGrant({ tokenUrl: `${server.url}/token`, clientId: 'app' });
    const error = await failure(refresh({ refreshToken: 'rt' }, context()));
    expect(error.code).toBe('REFRESH_FAILED');
  });
});

describe('a discovery shared by several refreshes', () => {
  it('one caller’s abort ends only its own wait: the fetch goes on, once, for the others', async () => {
    let metadataCalls = 0;
    let answered = false;
    const server = await serve((req, res) => {
      if (req.url === '/token') {
        sendJson(res, 200, { access_token: 'at-2', token_type: 'Bearer' });
        return;
      }
      metadataCalls += 1;
      setTimeout(() => {
        answered = true;
        sendJson(res, 200, { issuer: server.url, token_endpoint: `${server.url}/token` });
      }, 300);
    });
    const refresh = refreshTokenGrant({ issuer: server.url, clientId: 'app' });
    const controller = new AbortController();
    const aborted = Promise.resolve(refresh({ refreshToken: 'rt-a' }, context(controller.signal))).then(
      () => 'resolved',
      (error: TokenRefreshError) => ({ code: error.code, beforeTheMetadata: !answered }),
    );
    const other = refresh({ refreshToken: 'rt-b' }, context());
    setTimeout(() => controller.abort(), 50);
    expect(await aborted).toEqual({ code: 'REFRESH_FAILED', beforeTheMetadata: true });
    expect((await other).accessToken).toBe('at-2');
    expect(metadataCalls).toBe(1);
  });
});

describe('docs/login.md recipes as written now (`issuer: as.issuer`)', () => {
  it('refresh against oidc-provider with the issuer oauth4webapi checked', async () => {
    const oidc = await startOidc({ accessTokenTtlSeconds: 60 });
    pool.later(() => oidc.close());
    const issuer = new URL(oidc.issuer);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }),
    );
    const login = await oidc.login('post');
    const refresh = refreshTokenGrant({
      issuer: as.issuer,
      clientId: oidc.clients.post.clientId,
      clientSecret: oidc.clients.post.clientSecret ?? '',
      authMethod: 'client_secret_post',
    });
    const tokens: TokenSet = await refresh(
      { accessToken: login.accessToken, refreshToken: login.refreshToken },
      context(),
    );
    expect(tokens.accessToken).toEqual(expect.any(String));
  });

  it('still refuses an issuer whose path differs by a trailing slash (compared as URLs, not loosened)', async () => {
    const server = await serve((_req, res) => {
      sendJson(res, 200, { issuer: `${server.url}/realms/acme/`, token_endpoint: `${server.url}/token` });
    });
    const error = await failure(discover(new URL(`${server.url}/realms/acme`)));
    expect(error.code).toBe('CONFIGURATION_ERROR');
  });
});
