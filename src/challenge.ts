/** One challenge of a `WWW-Authenticate` header (RFC 7235 §2.1). */
export interface Challenge {
  /** The auth scheme, lower-cased (`bearer`, `dpop`). */
  readonly scheme: string;
  /** Its auth-params, names lower-cased, quoted strings unescaped; the first of a repeated name wins. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * One step of RFC 7235's `1#challenge`: a token, then either `= value` (an auth-param of the current challenge) or
 * a token68 (the credentials-like form of a challenge), or nothing (a new challenge's scheme). Quoted strings may hold
 * commas and `\"`.
 */
const STEP =
  /[\s,]*([!#$%&'*+.^_`|~\w-]+)(?:[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^_`|~\w-]+))(?=[ \t]*(?:,|$))|[ \t]+[\w.~+/-]+=*(?=[ \t]*(?:,|$))|(?![ \t]*=|[!#$%&'*+.^_`|~\w-]))/y;

/**
 * Parses a `WWW-Authenticate` header into its challenges. Stops at the first thing that does not follow the grammar
 * (an unclosed quote, a stray character, a
 * parameter not followed by a comma): what came before it is kept, nothing after it is guessed.
 *
 * @param header - the header value; a list (several header lines) is read as one comma-separated value.
 */
export function parseChallenges(header: unknown): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : typeof header === 'string' ? header : '';
  const challenges: Array<{ scheme: string; params: Record<string, string> }> = [];
  STEP.lastIndex = 0;
  for (let match; STEP.lastIndex < text.length && (match = STEP.exec(text)) !== null; ) {
    const name = (match[1] as string).toLowerCase();
    const value = match[2] === undefined ? match[3] : match[2].replace(/\\(.)/g, '$1');
    const current = challenges[challenges.length - 1];
    if (value === undefined) challenges.push({ scheme: name, params: {} });
    else if (current === undefined) break;
    else current.params[name] ??= value;
  }
  return challenges;
}

/** Error codes after which a new token would not help (RFC 6750 §3.1, RFC 9449 §7.1 and §9). */
const NO_REFRESH = ['insufficient_scope', 'invalid_request', 'use_dpop_nonce', 'invalid_dpop_proof'];

/**
 * Whether a 401 should spend a refresh: reads the `error` of the challenge whose scheme is the one the request used
 * (the first word of its Authorization header; `Bearer` if unknown), or, when the server sent none for that scheme,
 * of the first challenge that has one. No challenge, or `invalid_token`, means "refresh"; `insufficient_scope`,
 * `invalid_request`, `use_dpop_nonce` and `invalid_dpop_proof` are not cured by a new token.
 *
 * @param header - the response's `WWW-Authenticate` header value, if any.
 * @param authorization - the request's Authorization header, for its scheme.
 */
export function challengeAllowsRefresh(header: unknown, authorization?: unknown): boolean {
  const scheme = typeof authorization === 'string' && /^\S+ /.test(authorization) ? authorization.split(' ')[0] : 'Bearer';
  const challenges = parseChallenges(header);
  const used =
    challenges.find((challenge) => challenge.scheme === scheme?.toLowerCase()) ??
    challenges.find((challenge) => challenge.params['error'] !== undefined);
  return !NO_REFRESH.includes(used?.params['error']?.toLowerCase() ?? '');
}
