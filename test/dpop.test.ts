import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createDpop } from '../src/dpop.js';
import { isTokenRefreshError, type TokenRefreshError } from '../src/errors.js';
import { refreshTokenGrant } from '../src/oauth2.js';
import { verifyProof } from './support/dpop-verifier.js';
import { listen, readBody, type LocalServer } from './support/local-server.js';

const claimsOf = (proof: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('createDpop(options)', () => {
  it('makes a non-extractable P-256 key whose thumbprint is the RFC 7638 one', async () => {
    const dpop = await createDpop();
    expect(dpop.keyPair.privateKey.extractable).toBe(false);
    expect(dpop.keyPair.privateKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(dpop.thumbprint).toBe(await calculateJwkThumbprint(dpop.publicJwk, 'sha256'));
    expect(Object.keys(dpop.publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    await expect(dpop.exportPrivateJwk()).rejects.toThrow(/extractable: true/);
  });

  it('makes proofs a standard JOSE library verifies with the header key, with every RFC 9449 §4.2 claim', async () => {
    const dpop = await createDpop();
    const proof = await dpop.proof({ method: 'get', url: 'https://api.example.com/a/b?q=1#frag', accessToken: 'at-1' });
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.jwk).toEqual(dpop.publicJwk);
    expect(payload).toMatchObject({ htm: 'GET', htu: 'https://api.example.com/a/b' });
    expect(payload['ath']).toBe(createHash('sha256').update('at-1').digest('base64url'));
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(5);
    expect(payload).not.toHaveProperty('nonce');
    expect(decodeProtectedHeader(proof)).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpop.publicJwk });
  });

  it('gives every proof its own jti, for the same request too', async () => {
    const dpop = await createDpop();
    const proofs = await Promise.all(
      Array.from({ length: 200 }, () => dpop.proof({ method: 'POST', url: 'https://a.example/token' })),
    );
    expect(new Set(proofs.map((proof) => claimsOf(proof)['jti'])).size).toBe(200);
  });

  it('puts the latest nonce remembered for the origin in proofs, one origin apart from another', async () => {
    const dpop = await createDpop();
    dpop.rememberNonce('https://auth.example.com/token', 'n-auth-1');
    dpop.rememberNonce('https://auth.example.com/other', 'n-auth-2');
    dpop.rememberNonce('https://api.example.com/x', 'n-api');
    dpop.rememberNonce('https://api.example.com/x', undefined);
    dpop.rememberNonce('https://api.example.com/x', '');
    expect(claimsOf(await dpop.proof({ method: 'POST', url: 'https://auth.example.com/token' }))['nonce']).toBe(
      'n-auth-2',
    );
    expect(claimsOf(await dpop.proof({ method: 'GET', url: 'https://api.example.com/y' }))['nonce']).toBe('n-api');
    expect(claimsOf(await dpop.proof({ method: 'GET', url: 'https://other.example.com/' }))).not.toHaveProperty(
      'nonce',
    );
    expect(
      claimsOf(await dpop.proof({ method: 'GET', url: 'https://api.example.com/', nonce: 'given' }))['nonce'],
    ).toBe('given');
    expect(dpop.nonce('https://api.example.com')).toBe('n-api');
  });

  it('shares one key between processes through an exported JWK (extractable: true) and signs the same', async () => {
    const source = await createDpop({ extractable: true });
    const jwk = await source.exportPrivateJwk();
    const copy = await createDpop({ privateJwk: jwk });
    expect(copy.thumbprint).toBe(source.thumbprint);
    expect(copy.keyPair.privateKey.extractable).toBe(false);
    const proof = await copy.proof({ method: 'GET', url: 'https://api.example.com/', accessToken: 't' });
    const result = await verifyProof(proof, {
      method: 'GET',
      url: 'https://api.example.com/',
      accessToken: 't',
      seenJtis: new Set(),
    });
    expect(result).toMatchObject({ ok: true, thumbprint: source.thumbprint });
  });

  it('reuses a given CryptoKeyPair', async () => {
    const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const dpop = await createDpop({ keyPair });
    expect(dpop.keyPair).toBe(keyPair);
  });

  it.each([
    [null, 'Expected `options` to be an object, got `null`'],
    [{ keyPair: {} }, 'Expected `keyPair` to be an ECDSA P-256 CryptoKeyPair'],
    [{ privateJwk: { kty: 'RSA' } }, 'Expected `privateJwk` to be a private P-256 JWK'],
    [{ persist: { name: '' } }, 'Expected `persist` to be an object with a non-empty `name`'],
    [{ persist: { name: 'app' } }, 'Expected IndexedDB for `persist` (a browser)'],
    [{ extractable: 'yes' }, 'Expected `extractable` to be a boolean, got a string'],
    [{ privateJwk: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }, persist: { name: 'a' } }, 'Expected one of'],
    [{ persist: { name: 'a' }, extractable: true }, 'Expected `extractable` only for a new key or `privateJwk`'],
  ])('refuses bad options with a TypeError naming them (%#)', async (options, message) => {
    await expect(createDpop(options as never)).rejects.toThrow(TypeError);
    await expect(createDpop(options as never)).rejects.toThrow(message);
  });

  it('refuses a proof request without a usable method or absolute URL', async () => {
    const dpop = await createDpop();
    await expect(dpop.proof({ method: '', url: 'https://a.example/' })).rejects.toThrow('Expected `method`');
    await expect(dpop.proof({ method: 'GET', url: '/relative' })).rejects.toThrow('Expected `url` to be an absolute');
    await expect(dpop.proof({ method: 'GET', url: 'ftp://a.example/' })).rejects.toThrow(TypeError);
  });
});

describe('refreshTokenGrant({ dpop }) (RFC 9449 §5 and §8)', () => {
  let server: LocalServer | undefined;
  afterEach(() => server?.close());

  /** A token endpoint that answers with `replies` in turn and records each request's DPoP proof. */
  async function endpoint(replies: ReadonlyArray<{ status: number; body: object; nonce?: string }>) {
    const proofs: string[] = [];
    let index = 0;
    server = await listen((req, res) => {
      void readBody(req).then(() => {
        proofs.push(String(req.headers['dpop']));
        const reply = replies[Math.min(index++, replies.length - 1)]!;
        res.writeHead(reply.status, {
          'Content-Type': 'application/json',
          ...(reply.nonce ? { 'DPoP-Nonce': reply.nonce } : {}),
        });
        res.end(JSON.stringify(reply.body));
      });
    });
    return { url: `${server.url}/token`, proofs };
  }
  const tokens = (type: string) => ({ access_token: 'at', token_type: type, expires_in: 60, refresh_token: 'rt2' });
  const run = (options: Parameters<typeof refreshTokenGrant>[0]) =>
    refreshTokenGrant(options)(
      { accessToken: 'old', refreshToken: 'rt' },
      { signal: new AbortController().signal, reason: 'manual' },
    );
  async function failure(promise: unknown): Promise<TokenRefreshError> {
    const error = await Promise.resolve(promise).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTokenRefreshError(error)).toBe(true);
    return error as TokenRefreshError;
  }

  it('sends a proof without ath for POST to the token URL, and retries once with the nonce of a 400 use_dpop_nonce', async () => {
    const dpop = await createDpop();
    const { url, proofs } = await endpoint([
      { status: 400, body: { error: 'use_dpop_nonce' }, nonce: 'n1' },
      { status: 200, body: tokens('DPoP'), nonce: 'n2' },
    ]);
    const result = await run({ tokenUrl: url, clientId: 'app', dpop });
    expect(result.tokenType).toBe('DPoP');
    expect(proofs.map((proof) => claimsOf(proof)['nonce'])).toEqual([undefined, 'n1']);
    expect(claimsOf(proofs[0]!)).toMatchObject({ htm: 'POST', htu: url });
    expect(claimsOf(proofs[0]!)).not.toHaveProperty('ath');
    expect(dpop.nonce(url)).toBe('n2');
  });

  it('does not end the session when the server wants a nonce again after the retry (REFRESH_FAILED)', async () => {
    const dpop = await createDpop();
    const { url, proofs } = await endpoint([{ status: 400, body: { error: 'use_dpop_nonce' }, nonce: 'n' }]);
    const error = await failure(run({ tokenUrl: url, clientId: 'app', dpop }));
    expect(error.code).toBe('REFRESH_FAILED');
    expect(proofs).toHaveLength(2);
  });

  it('is CONFIGURATION_ERROR telling to enable DPoP on the server when a Bearer token comes back', async () => {
    const dpop = await createDpop();
    const { url } = await endpoint([{ status: 200, body: tokens('Bearer') }]);
    const error = await failure(run({ tokenUrl: url, clientId: 'app', dpop }));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('issued a Bearer token: enable DPoP for this client on the authorization server');
  });

  it('is CONFIGURATION_ERROR telling to pass dpop when a DPoP token comes back without it', async () => {
    const { url } = await endpoint([{ status: 200, body: tokens('dpop') }]);
    const error = await failure(run({ tokenUrl: url, clientId: 'app' }));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('issued a DPoP-bound token, but the grant has no `dpop`');
  });

  it('is CONFIGURATION_ERROR, not SESSION_EXPIRED, when the server refuses the proof', async () => {
    const dpop = await createDpop();
    const { url } = await endpoint([{ status: 400, body: { error: 'invalid_dpop_proof' } }]);
    expect((await failure(run({ tokenUrl: url, clientId: 'app', dpop }))).code).toBe('CONFIGURATION_ERROR');
  });

  it('refuses a dpop option that is not from createDpop()', () => {
    expect(() => refreshTokenGrant({ tokenUrl: 'https://a.example/t', clientId: 'a', dpop: {} as never })).toThrow(
      'Expected `dpop` to be the result of createDpop()',
    );
  });
});
