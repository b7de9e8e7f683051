/**
 * Session 7 review (h1, low): a metadata member the refresh does not use broke every refresh. A document with
 * `"revocation_endpoint": null` (serialisers that write nulls) failed discovery with CONFIGURATION_ERROR, so the
 * refresh, which needs only `token_endpoint`, never reached the token endpoint. Now `null` counts as absent, and a
 * revocation endpoint that breaks the https rule fails the revocation (logout), not the refresh; `discover()` still
 * refuses to hand it out.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover, refreshTokenGrant } from '../../src/index.js';

let server: ReturnType<typeof createServer>;
let origin = '';
let tokenRequests = 0;
let revocations = 0;

/** Issuer `${origin}/<name>` publishes `revocation_endpoint: revocation`. */
const published: Record<string, unknown> = {
  null: null,
  insecure: 'http://revoke.example.com/revoke',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const well = /^\/(\w+)\/\.well-known\/openid-configuration$/.exec(req.url ?? '');
    if (well) {
      const issuer = `${origin}/${well[1]}`;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ issuer, token_endpoint: `${origin}/token`, revocation_endpoint: published[well[1] ?? ''] }),
      );
      return;
    }
    if (req.url === '/token') {
      tokenRequests += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'at-2', token_type: 'Bearer', expires_in: 60 }));
      return;
    }
    if (req.url === '/revoke') revocations += 1;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const context = () => ({ signal: new AbortController().signal, reason: 'manual' as const });

describe('metadata with "revocation_endpoint": null', () => {
  it('lets refreshTokenGrant({ issuer }) refresh, and its revoke says there is nothing to call (false)', async () => {
    const grant = refreshTokenGrant({ issuer: `${origin}/null`, clientId: 'cli' });
    const before = tokenRequests;
    await expect(grant({ refreshToken: 'rt-1' }, context())).resolves.toMatchObject({ accessToken: 'at-2' });
    expect(tokenRequests).toBe(before + 1);
    await expect(grant.revoke?.({ refreshToken: 'rt-2' }, context())).resolves.toBe(false);
  });

  it('lets discover() hand out the metadata', async () => {
    await expect(discover(`${origin}/null`)).resolves.toMatchObject({ token_endpoint: `${origin}/token` });
  });
});

describe('metadata whose revocation_endpoint breaks the https rule', () => {
  it('still refreshes; the revocation fails with CONFIGURATION_ERROR and sends nothing', async () => {
    const grant = refreshTokenGrant({ issuer: `${origin}/insecure`, clientId: 'cli' });
    await expect(grant({ refreshToken: 'rt-1' }, context())).resolves.toMatchObject({ accessToken: 'at-2' });
    await expect(grant.revoke?.({ refreshToken: 'rt-2' }, context())).rejects.toMatchObject({
      code: 'CONFIGURATION_ERROR',
      message: expect.stringContaining('revocation_endpoint'),
    });
    expect(revocations).toBe(0);
  });

  it('is refused by discover() (it never hands out an insecure endpoint)', async () => {
    await expect(discover(`${origin}/insecure`)).rejects.toMatchObject({ code: 'CONFIGURATION_ERROR' });
  });
});
