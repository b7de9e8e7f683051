import { describe, expect, it } from 'vitest';
import { challengeAllowsRefresh, parseChallenges } from '../src/challenge.js';

describe('parseChallenges(header) (RFC 7235 §2.1)', () => {
  it('reads several challenges in one header, each with its own params', () => {
    expect(parseChallenges('Bearer realm="a", error="invalid_token", DPoP algs="ES256", error="use_dpop_nonce"')).toEqual([
      { scheme: 'bearer', params: { realm: 'a', error: 'invalid_token' } },
      { scheme: 'dpop', params: { algs: 'ES256', error: 'use_dpop_nonce' } },
    ]);
  });

  it('keeps commas, equal signs and escaped quotes inside a quoted string', () => {
    const header = 'Bearer error_description="a, error=\\"insufficient_scope\\", b", error=invalid_token';
    expect(parseChallenges(header)).toEqual([
      { scheme: 'bearer', params: { error_description: 'a, error="insufficient_scope", b', error: 'invalid_token' } },
    ]);
  });

  it('reads a token68 challenge and a bare scheme as challenges without params', () => {
    expect(parseChallenges('Negotiate a87421000492aa874209af8bc028==, Basic, Bearer error="invalid_token"')).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: {} },
      { scheme: 'bearer', params: { error: 'invalid_token' } },
    ]);
  });

  it('joins several header lines and ignores case in scheme and parameter names', () => {
    expect(parseChallenges(['BEARER ERROR=invalid_token', 'dPoP Error="use_dpop_nonce"'])).toEqual([
      { scheme: 'bearer', params: { error: 'invalid_token' } },
      { scheme: 'dpop', params: { error: 'use_dpop_nonce' } },
    ]);
  });

  it('keeps the first of a repeated parameter', () => {
    expect(parseChallenges('Bearer error="invalid_token", error="insufficient_scope"')[0]?.params['error']).toBe(
      'invalid_token',
    );
  });

  it('stops at an unclosed quote instead of reading params out of it', () => {
    expect(parseChallenges('Bearer realm="x, error="insufficient_scope')).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseChallenges('Bearer error_description="never closed, error=insufficient_scope')).toEqual([
      { scheme: 'bearer', params: {} },
    ]);
  });

  it('returns no challenge for a param without a scheme, garbage, or a value that is not text', () => {
    expect(parseChallenges('error="insufficient_scope"')).toEqual([]);
    expect(parseChallenges('"Bearer"')).toEqual([]);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges(42)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
  });

  it('answers a long hostile header in linear time (no catastrophic backtracking)', () => {
    const header = `Bearer x="${'\\"'.repeat(50_000)}`;
    expect(parseChallenges(header)).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseChallenges(`${'a, '.repeat(50_000)}`)).toHaveLength(50_000);
  });
});

describe('challengeAllowsRefresh(header, authorization)', () => {
  it('refreshes without a challenge or on invalid_token', () => {
    expect(challengeAllowsRefresh(undefined)).toBe(true);
    expect(challengeAllowsRefresh('Bearer realm="api"')).toBe(true);
    expect(challengeAllowsRefresh('Bearer error="invalid_token"')).toBe(true);
  });

  it('does not refresh when a new token would not help', () => {
    for (const error of ['insufficient_scope', 'invalid_request', 'use_dpop_nonce', 'invalid_dpop_proof']) {
      expect(challengeAllowsRefresh(`DPoP error="${error}"`, 'DPoP abc')).toBe(false);
    }
  });

  it('reads the challenge of the scheme in use, not the first error in the header', () => {
    const header = 'Bearer error="insufficient_scope", DPoP algs="ES256", error="invalid_token"';
    expect(challengeAllowsRefresh(header, 'DPoP token')).toBe(true);
    expect(challengeAllowsRefresh(header, 'Bearer token')).toBe(false);
    expect(challengeAllowsRefresh('DPoP error="use_dpop_nonce", Bearer error="invalid_token"', 'DPoP t')).toBe(false);
  });

  it('falls back to the first challenge with an error when none is for the scheme in use', () => {
    expect(challengeAllowsRefresh('Basic realm="x", Bearer error="insufficient_scope"', 'DPoP t')).toBe(false);
  });

  it('is not fooled by an error quoted inside another parameter', () => {
    expect(challengeAllowsRefresh('Bearer error_description="error=\\"insufficient_scope\\"", error="invalid_token"')).toBe(true);
    expect(challengeAllowsRefresh('Bearer realm="a, error=insufficient_scope"')).toBe(true);
  });
});
