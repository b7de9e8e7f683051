/**
 * One step of RFC 7235's `1#challenge`: a token, then either `= value` (an auth-param of the current challenge; a
 * quoted string may hold commas and `\"`), a token68, or nothing (a new challenge's scheme). Sticky: matching stops at
 * the first thing that does not follow the grammar (an unclosed quote, a stray character, a missing comma), so what a
 * malformed header says after that point is never guessed at.
 */
const STEP = /[\s,]*([^\s",=]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s",=]+)(?=\s*(?:,|$))|\s+[\w.~+/-]+=*(?=\s*(?:,|$))|(?![^\s",=]|\s*=))/gy;

/**
 * The `error` auth-param of a `WWW-Authenticate` header's challenge for `scheme` (the first such challenge that has
 * one); when the header has no challenge for `scheme` at all, the first `error` of any challenge. As sent: a quoted
 * value keeps its quotes.
 *
 * @param header - the header value; a list (several header lines) is read as one comma-separated value.
 * @param scheme - the auth scheme, lower-case (`bearer`, `dpop`).
 */
export function challengeError(header: unknown, scheme: string): string | undefined {
  let current: string | undefined;
  let first: string | undefined;
  let seen = false;
  for (const [, name, value] of String(header).matchAll(STEP)) {
    if (value === undefined) seen = (current = (name as string).toLowerCase()) === scheme || seen;
    else if (/^error$/i.test(name as string)) {
      if (current === scheme) return value;
      first ??= value;
    }
  }
  return seen ? undefined : first;
}

/**
 * Whether a 401 should spend a refresh: reads the `error` of the challenge for the scheme in use (`DPoP` with a DPoP
 * key, else `Bearer`; see {@link challengeError}). None, or `invalid_token`, means "refresh"; `insufficient_scope`,
 * `invalid_request` (RFC 6750 §3.1), `use_dpop_nonce` and `invalid_dpop_proof` (RFC 9449 §7.1, §9) are not cured by
 * a new token.
 *
 * @param header - the response's `WWW-Authenticate` header value, if any.
 * @param dpop - whether the session's tokens are DPoP-bound.
 */
export function challengeAllowsRefresh(header: unknown, dpop?: unknown): boolean {
  return !/^"?(insufficient_scope|invalid_request|use_dpop_nonce|invalid_dpop_proof)"?$/.test(
    challengeError(header, dpop ? 'dpop' : 'bearer') ?? '',
  );
}
