/**
 * RFC 7235's `1#challenge`, read as a list of tokens: a token followed by `=` is an auth-param of the current challenge
 * (its value a token or a quoted string, which may hold commas and `\"`), any other token starts a new challenge (its
 * scheme). A token68 (`Negotiate abc==`) reads as a param of its challenge, which is harmless: only `error` is read.
 */
const STEP = /([^\s",=]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s",]*))?/g;

/**
 * The `error` auth-param of a `WWW-Authenticate` header's challenge for `scheme` (the first such challenge that has
 * one). Other schemes' challenges are not about the token in use: their errors are ignored. As sent: a quoted value
 * keeps its quotes.
 *
 * @param header - the header value; a list (several header lines) is read as one comma-separated value.
 * @param scheme - the auth scheme, lower-case (`bearer`, `dpop`).
 */
export function challengeError(header: unknown, scheme: string): string | undefined {
  let current: string | undefined;
  for (const [, name, value] of String(header).matchAll(STEP)) {
    if (value === undefined) current = (name as string).toLowerCase();
    else if (current === scheme && /^error$/i.test(name as string)) return value;
  }
  return undefined;
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
