import type { AxiosInstance } from 'axios';
import type { Discovered } from './discovery.js';
import { TokenRefreshError } from './errors.js';
import {
  authenticatedForm,
  deadlineSignal,
  isBusy,
  isRedirect,
  isSuccess,
  oauthError,
  requestError,
  secretsOf,
  send,
  tooSlow,
} from './oauth-http.js';
import type { ClientCredentials, Deadline, Endpoint, OAuthError } from './oauth-http.js';
import type { RefreshFunction } from './options.js';
import { jsonObject, parseJson } from './token-response.js';
import type { TokenSet } from './tokens.js';

/** What a revocation needs from its grant: the client authentication, the timeout and the axios instance. */
export interface RevocationConfig extends ClientCredentials {
  readonly timeoutMs: number;
  readonly client: () => AxiosInstance;
}

/** The `revoke` a grant carries; see {@link RefreshFunction}. */
export type Revoke = NonNullable<RefreshFunction['revoke']>;

/**
 * The grant's `revoke` (RFC 7009), or undefined when it cannot know a revocation endpoint. With discovery it is always
 * there and reads the metadata on first use; when the metadata has no `revocation_endpoint`, it resolves without a
 * request (the server offers no revocation; the session clears the tokens all the same). The whole call (discovery and
 * both requests) is bounded by `timeoutMs` and by the caller's `signal`, whichever fires first.
 *
 * @param config - the grant's client authentication, timeout and axios instance.
 * @param fixed - the `revocationUrl` option, which wins over the metadata.
 * @param discovered - the grant's discovery, when it has an `issuer`.
 */
export function revoker(
  config: RevocationConfig,
  fixed: Endpoint | undefined,
  discovered: Discovered | undefined,
): Revoke | undefined {
  if (fixed === undefined && discovered === undefined) return undefined;
  return async function revoke(tokens: TokenSet, context?: { readonly signal?: AbortSignal }): Promise<boolean> {
    // axios's Node `timeout` is an idle timeout: this signal bounds the whole call, trickling servers included.
    const deadline = deadlineSignal(context?.signal, config.timeoutMs);
    try {
      const endpoint = fixed ?? (await (discovered as Discovered)(deadline)).revocation;
      // Discovered metadata without a revocation endpoint: nothing to call, and `logout()` says so (revoked: false).
      if (endpoint === undefined) return false;
      if (endpoint instanceof Error) throw endpoint;
      const secrets = secretsOf(config, tokens.refreshToken, tokens.accessToken);
      const jobs: Array<Promise<void>> = [];
      // Refresh token first in the list so its failure is the one reported: it is what keeps a login alive.
      if (tokens.refreshToken)
        jobs.push(revokeOne(config, endpoint, tokens.refreshToken, 'refresh_token', deadline, secrets));
      if (tokens.accessToken)
        jobs.push(revokeOne(config, endpoint, tokens.accessToken, 'access_token', deadline, secrets));
      const results = await Promise.allSettled(jobs);
      for (const result of results) if (result.status === 'rejected') throw result.reason;
      return true;
    } finally {
      deadline.clear();
    }
  };
}

/** One RFC 7009 request, for one token; resolves when the server revoked it (or cannot revoke access tokens). */
async function revokeOne(
  config: RevocationConfig,
  endpoint: Endpoint,
  token: string,
  hint: 'refresh_token' | 'access_token',
  deadline: Deadline,
  secrets: readonly string[],
): Promise<void> {
  const { body, headers } = authenticatedForm(config, { token, token_type_hint: hint });
  let status: number;
  let data: unknown;
  try {
    ({ status, data } = await send(config.client(), 'POST', endpoint.url.href, headers, deadline.signal, `${body}`));
  } catch (error) {
    const where = `the revocation endpoint ${endpoint.where}`;
    throw requestError(
      error,
      deadline,
      'Token revocation failed',
      where,
      (cause) => tooSlow(`Token revocation failed: ${where}`, config.timeoutMs, cause),
      'it was aborted',
    );
  }
  if (!isSuccess(status)) refused(status, oauthError(jsonObject(parseJson(data)), secrets), endpoint, hint);
}

/** What a revocation endpoint's refusal means: `REFRESH_FAILED` when it may pass, else `CONFIGURATION_ERROR`. */
function refused(
  status: number,
  oauth: OAuthError | undefined,
  endpoint: Endpoint,
  hint: 'refresh_token' | 'access_token',
): void {
  // RFC 7009 §2.2.1: a server that cannot revoke access tokens says so; the refresh token is what matters.
  if (oauth?.oauthError === 'unsupported_token_type' && hint === 'access_token') return;
  const details = { status, ...oauth };
  const answered =
    `the revocation endpoint ${endpoint.where} answered HTTP ` +
    `${status}${oauth ? ` (${oauth.oauthError})` : ''}${isRedirect(status) ? ', a redirect, not followed,' : ''} for the ` +
    hint.replace('_', ' ');
  if (isBusy(status) || oauth?.oauthError === 'temporarily_unavailable') {
    throw new TokenRefreshError('REFRESH_FAILED', `Token revocation failed: ${answered}`, details);
  }
  throw new TokenRefreshError(
    'CONFIGURATION_ERROR',
    `Token revocation misconfigured: ${answered}; check \`clientId\`, \`clientSecret\`, \`authMethod\` and ` +
      '`revocationUrl` (or the metadata of `issuer`)',
    details,
  );
}
