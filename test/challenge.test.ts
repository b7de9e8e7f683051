import { describe, expect, it } from 'vitest';
import { challengeAllowsRefresh, challengeError } from '../src/challenge.js';

describe('challengeError(header, scheme) (RFC 7235 §2.1 grammar)', () => {
  const both = 'Bearer realm="a", error="invalid_token", DPoP algs="ES256", error="use_dpop_nonce"';

  it('reads the error of the challenge for the scheme among several in one header', () => {
    expect(challengeError(both, 'bearer')).toBe('"invalid_token"');
    expect(challengeError(both, 'dpop')).toBe('"use_dpop_nonce"');
  });

  it('keeps commas, equal signs and escaped quotes inside a quoted string', () => {
    const header = 'Bearer error_description="a, error=\\"insufficient_scope\\", DPoP error=x", error=invalid_token';
    expect(challengeError(header, 'bearer')).toBe('invalid_token');
    expect(challengeError(header, 'dpop')).toBeUndefined(); // the DPoP inside the quotes is no challenge
  });

  it('reads past a token68 challenge and a bare scheme', () => {
    const header = 'Negotiate a87421000492aa874209af8bc028==, Basic, Bearer error="invalid_token"';
    expect(challengeError(header, 'bearer')).toBe('"invalid_token"');
    expect(challengeError(header, 'negotiate')).toBeUndefined();
    expect(challengeError(header, 'basic')).toBeUndefined();
  });

  it('joins several header lines and ignores case in scheme and parameter names', () => {
    const lines = ['BEARER ERROR=invalid_token', 'dPoP Error="use_dpop_nonce"'];
    expect(challengeError(lines, 'bearer')).toBe('invalid_token');
    expect(challengeError(lines, 'dpop')).toBe('"use_dpop_nonce"');
  });

  it('keeps the first of a repeated error', () => {
    expect(challengeError('Bearer error="invalid_token", error="insufficient_scope"', 'bearer')).toBe(
      '"invalid_token"',
    );
  });

  it('ignores the errors of other schemes’ challenges: they are not about the token in use', () => {
    expect(challengeError('Basic realm="x", Bearer error="insufficient_scope"', 'dpop')).toBeUndefined();
    expect(challengeError('DPoP algs="ES256", Bearer error="insufficient_scope"', 'dpop')).toBeUndefined();
  });

  it('never reads a param out of a quoted string, closed or not', () => {
    expect(challengeError('Bearer realm="x, error="insufficient_scope', 'bearer')).toBeUndefined();
    expect(
      challengeError('Bearer error_description="never closed, error=insufficient_scope', 'bearer'),
    ).toBeUndefined();
    expect(challengeError('Bearer realm="a, error=\\"insufficient_scope\\"", error="invalid_token"', 'bearer')).toBe(
      '"invalid_token"',
    );
  });

  it('reads nothing from a value that is not text', () => {
    for (const header of [undefined, null, 42, {}, '']) expect(challengeError(header, 'bearer')).toBeUndefined();
  });

  it('answers a long hostile header at once (no catastrophic backtracking)', () => {
    expect(challengeError(`Bearer x="${'\\"'.repeat(50_000)}`, 'bearer')).toBeUndefined();
    expect(challengeError(`Bearer ${'a=b, '.repeat(50_000)}error=invalid_token`, 'bearer')).toBe('invalid_token');
    expect(challengeError(`${'a '.repeat(50_000)}=`, 'bearer')).toBeUndefined();
  });
});

describe('challengeAllowsRefresh(header, dpop)', () => {
  it('refreshes without a challenge or on invalid_token', () => {
    expect(challengeAllowsRefresh(undefined)).toBe(true);
    expect(challengeAllowsRefresh('Bearer realm="api"')).toBe(true);
    expect(challengeAllowsRefresh('Bearer error="invalid_token"')).toBe(true);
  });

  it('does not refresh when a new token would not help', () => {
    for (const error of ['insufficient_scope', 'invalid_request', 'use_dpop_nonce', 'invalid_dpop_proof']) {
      expect(challengeAllowsRefresh(`DPoP error="${error}"`, true)).toBe(false);
      expect(challengeAllowsRefresh(`Bearer error=${error}`, false)).toBe(false);
    }
  });

  it('reads the challenge of the scheme in use (DPoP with a DPoP key), not the first error in the header', () => {
    const header = 'Bearer error="insufficient_scope", DPoP algs="ES256", error="invalid_token"';
    expect(challengeAllowsRefresh(header, true)).toBe(true);
    expect(challengeAllowsRefresh(header, false)).toBe(false);
    expect(challengeAllowsRefresh('DPoP error="use_dpop_nonce", Bearer error="invalid_token"', true)).toBe(false);
    expect(challengeAllowsRefresh('DPoP error="use_dpop_nonce", Bearer realm="api"', false)).toBe(true);
  });

  it('is not fooled by an error quoted inside another parameter', () => {
    expect(
      challengeAllowsRefresh('Bearer error_description="error=\\"insufficient_scope\\"", error="invalid_token"'),
    ).toBe(true);
    expect(challengeAllowsRefresh('Bearer realm="a, error=insufficient_scope"')).toBe(true);
  });
});
