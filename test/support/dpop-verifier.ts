/**
 * A DPoP proof check the way RFC 9449 §4.3 and §7.1 tell a resource server to do it, with WebCrypto only and written
 * apart from the package's own code, so the tests do not grade the package with its own logic.
 */
import { createHash, webcrypto } from 'node:crypto';

export interface ProofExpectation {
  readonly method: string;
  /** The URL the request was made to; query and fragment are ignored. */
  readonly url: string;
  /** The access token the request carried, for `ath`; omit for a token endpoint. */
  readonly accessToken?: string;
  /** Nonces the server accepts now; none means the server does not use nonces. */
  readonly nonces?: readonly string[];
  /** `jti`s already seen; the proof's is added when it passes. */
  readonly seenJtis: Set<string>;
  /** How far `iat` may be from now, in seconds. @default 60 */
  readonly iatWindowSeconds?: number;
}

export type ProofResult =
  | { readonly ok: true; readonly thumbprint: string; readonly jti: string; readonly nonce: string | undefined }
  | { readonly ok: false; readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce'; readonly reason: string };

const decode = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const fail = (reason: string): ProofResult => ({ ok: false, error: 'invalid_dpop_proof', reason });

/** RFC 7638 thumbprint of an EC public JWK. */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

export async function verifyProof(proof: unknown, expected: ProofExpectation): Promise<ProofResult> {
  if (typeof proof !== 'string') return fail('no single DPoP header');
  const parts = proof.split('.');
  if (parts.length !== 3) return fail('not a compact JWS');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decode(parts[0]!) as Record<string, unknown>;
    claims = decode(parts[1]!) as Record<string, unknown>;
  } catch {
    return fail('not JSON');
  }
  if (header['typ'] !== 'dpop+jwt') return fail('typ');
  if (header['alg'] !== 'ES256') return fail('alg');
  const jwk = header['jwk'] as { kty: string; crv: string; x: string; y: string; d?: unknown } | undefined;
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.d !== undefined) return fail('jwk');
  const { kty, crv, x, y } = jwk;
  const key = await webcrypto.subtle.importKey(
    'jwk',
    { kty, crv, x, y },
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  );
  const valid = await webcrypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    Buffer.from(parts[2]!, 'base64url'),
    Buffer.from(`${parts[0]}.${parts[1]}`),
  );
  if (!valid) return fail('signature');
  if (claims['htm'] !== expected.method.toUpperCase()) return fail('htm');
  const url = new URL(expected.url);
  url.search = '';
  url.hash = '';
  if (claims['htu'] !== url.href) return fail(`htu ${String(claims['htu'])} != ${url.href}`);
  const iat = claims['iat'];
  const window = expected.iatWindowSeconds ?? 60;
  if (typeof iat !== 'number' || Math.abs(Date.now() / 1000 - iat) > window) return fail('iat');
  const jti = claims['jti'];
  if (typeof jti !== 'string' || jti.length < 16) return fail('jti');
  if (expected.accessToken !== undefined) {
    if (claims['ath'] !== createHash('sha256').update(expected.accessToken).digest('base64url')) return fail('ath');
  } else if (claims['ath'] !== undefined) return fail('ath where no token');
  const nonce = claims['nonce'];
  if (expected.nonces !== undefined && (typeof nonce !== 'string' || !expected.nonces.includes(nonce))) {
    return { ok: false, error: 'use_dpop_nonce', reason: nonce === undefined ? 'no nonce' : 'stale nonce' };
  }
  // Checked last: a proof refused for its nonce was never accepted, so its jti is not spent.
  if (expected.seenJtis.has(jti)) return fail('jti replayed');
  expected.seenJtis.add(jti);
  return { ok: true, thumbprint: jwkThumbprint(jwk), jti, nonce: typeof nonce === 'string' ? nonce : undefined };
}
