/**
 * RFC 6750 §3.1: a 401 whose Bearer challenge says `insufficient_scope` or `invalid_request` is not cured by a new
 * token, so it must not spend a refresh. No challenge, or `invalid_token`, means "refresh".
 *
 * @param header - the response's `WWW-Authenticate` header value, if any.
 */
export function challengeAllowsRefresh(header: unknown): boolean {
  if (typeof header !== 'string' && !Array.isArray(header)) return true;
  const text = Array.isArray(header) ? header.join(', ') : header;
  const match = /(?:^|[\s,])error\s*=\s*"?([A-Za-z_]+)"?/.exec(text);
  const code = match?.[1]?.toLowerCase();
  return code !== 'insufficient_scope' && code !== 'invalid_request';
}
