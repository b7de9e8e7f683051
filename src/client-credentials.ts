import { isSuccess, secretsOf } from './oauth-http.js';
import type { OAuthError } from './oauth-http.js';
import type { RefreshContext, RefreshFunction } from './options.js';
import { CONFIGURATION_HINTS, hintFor, requestTokens, resolveOptions, withRevoke } from './oauth2.js';
import type { RefreshTokenGrantOptions, Verdict } from './oauth2.js';
import type { TokenSet } from './tokens.js';
import { checkOptions, isNonEmptyString } from './validate.js';

/**
 * Options of {@link clientCredentialsGrant}: those of `refreshTokenGrant` (token endpoint or `issuer`, client
 * authentication, `timeoutMs`, `axios`, `headers`, `extraParams`…), plus the resource the token is for. Validated once,
 * when `clientCredentialsGrant` is called; a bad value throws a `TypeError` naming the option.
 */
export interface ClientCredentialsGrantOptions extends RefreshTokenGrantOptions {
  /**
   * The `scope` to ask for: a space-separated string or a list. Omitted: the server's default for this client.
   *
   * @example 'reports:read'
   */
  readonly scope?: string | readonly string[];
  /**
   * The API the token is for (RFC 8707 `resource`): an absolute URI, or a list of them (one parameter each).
   *
   * @example 'https://api.example.com'
   */
  readonly resource?: string | readonly string[];
  /**
   * The `audience` parameter that Auth0, Okta and others use instead of `resource`. A non-empty string.
   *
   * @example 'https://api.example.com'
   */
  readonly audience?: string;
}

const RESERVED_PARAMS = ['grant_type', 'client_id', 'client_secret', 'scope', 'resource', 'audience'];

/** The hints of {@link CONFIGURATION_HINTS} that read differently for the client credentials grant. */
const CLIENT_CREDENTIALS_HINTS: Readonly<Record<string, string>> = {
  unauthorized_client:
    'this client may not use the client_credentials grant: allow it for this client on the authorization server',
  unsupported_grant_type:
    'the server does not support grant_type=client_credentials here: check the token endpoint and the server settings',
  invalid_scope: 'the requested `scope` was refused: check `scope` against what this client may ask for',
  invalid_target: 'the requested `resource` was refused (RFC 8707): check `resource` and `audience`',
};

/**
 * Returns a `refresh` function that runs the OAuth 2.0 client credentials grant (RFC 6749 §4.4): machine-to-machine
 * tokens, no refresh token. With `attachRefresh(api, { tokens: null, refresh: clientCredentialsGrant(…) })` the first
 * request gets a token, and an expiry or a 401 gets a new one, once however many requests need it (and once for a
 * fleet sharing a store). The function carries `needsRefreshToken: false`, and `revoke` when a revocation endpoint is
 * known (as `refreshTokenGrant` does).
 *
 * Failures are {@link TokenRefreshError}s and never `SESSION_EXPIRED`: an HTTP 400/401 with an RFC 6749 §5.2 error
 * code (`invalid_client`, `unauthorized_client`, `invalid_scope`, `invalid_target`, even `invalid_grant`) is
 * `CONFIGURATION_ERROR`, since the client's own set-up is all the grant presents; a 400/401 without an OAuth error
 * (a gateway in the way), a 5xx, a 429, a network error or a timeout is `REFRESH_FAILED`; a 2xx without a usable
 * token is `INVALID_TOKEN_RESPONSE`.
 *
 * @param options - see {@link ClientCredentialsGrantOptions}.
 * @throws TypeError when an option is invalid.
 *
 * @example
 * ```ts
 * attachRefresh(serviceApi, {
 *   tokens: null,
 *   refresh: clientCredentialsGrant({
 *     issuer: 'https://auth.example.com',
 *     clientId: 'reports-job',
 *     clientSecret: process.env.CLIENT_SECRET,
 *     scope: 'reports:read',
 *   }),
 * });
 * ```
 */
export function clientCredentialsGrant(options: ClientCredentialsGrantOptions): RefreshFunction {
  const config = resolveOptions(options, 'clientCredentialsGrant', RESERVED_PARAMS);
  const params: Record<string, string> = { grant_type: 'client_credentials' };
  const { resource, audience } = checkOptions(options, [
    ['resource', 'an absolute URI or a non-empty list of them (RFC 8707)', isResource],
    ['audience', 'a non-empty string', isNonEmptyString],
  ]);
  const resources = resource === undefined ? [] : typeof resource === 'string' ? [resource] : resource;
  // URLSearchParams from an object sends each name once; repeated `resource` values go through `extraParams`' list.
  const extraParams = [...config.extraParams, ...resources.map((r) => ['resource', r] as const)];
  if (audience !== undefined) extraParams.push(['audience', audience]);
  const grantConfig = { ...config, extraParams };

  const refresh = async function clientCredentialsRefresh(
    current: TokenSet,
    context?: Partial<RefreshContext>,
  ): Promise<TokenSet> {
    const secrets = secretsOf(config, (current as TokenSet | null | undefined)?.accessToken);
    return requestTokens(
      grantConfig,
      { params, previousRefreshToken: undefined, secrets, verdict },
      context?.signal ?? new AbortController().signal,
    );
  };
  return Object.assign(withRevoke(refresh, grantConfig), { needsRefreshToken: false as const });
}

/**
 * A 400, 401 or 2xx without tokens, or `invalid_grant` at any status. No refresh token to lose, so nothing here ends a
 * session: an OAuth error is the client's set-up; an answer without one (a gateway) may pass. Any other status reads
 * as for the refresh token grant (whose only `SESSION_EXPIRED` outside 400/401/2xx is `invalid_grant`).
 */
function verdict(status: number, oauth: OAuthError | undefined, answered: string): Verdict | undefined {
  if (status !== 400 && status !== 401 && !isSuccess(status) && oauth?.oauthError !== 'invalid_grant') return undefined;
  if (!oauth) return ['REFRESH_FAILED', `Token refresh failed: ${answered}`];
  const hint =
    hintFor(oauth, status, CLIENT_CREDENTIALS_HINTS) ??
    hintFor(oauth, status, CONFIGURATION_HINTS) ??
    'the server refused the client credentials grant: check the client on the authorization server';
  return ['CONFIGURATION_ERROR', `Token request misconfigured: ${answered}; ${hint}`];
}

/** The `resource` option: one absolute URI, or a non-empty list of them. */
function isResource(value: unknown): boolean {
  return isAbsoluteUri(value) || (Array.isArray(value) && value.length > 0 && value.every(isAbsoluteUri));
}

function isAbsoluteUri(value: unknown): boolean {
  if (typeof value !== 'string' || value === '') return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
