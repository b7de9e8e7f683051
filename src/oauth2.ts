import type { AxiosInstance, AxiosResponse } from 'axios';
import { TokenRefreshError, headerValue, parseRetryAfter } from './errors.js';
import { checkIssuer, discoveredEndpoints } from './discovery.js';
import type { Discovered } from './discovery.js';
import {
  authenticatedForm,
  checkEndpointUrl,
  deadlineSignal,
  isAxiosInstance,
  isBusy,
  isRedirect,
  isSuccess,
  lazyClient,
  oauthError,
  requestError,
  secretsOf,
  send,
  tooSlow,
  untilAborted,
} from './oauth-http.js';
import type { ClientCredentials, Deadline, Endpoint, OAuthError } from './oauth-http.js';
import type { DpopHooks, RefreshContext, RefreshFunction } from './options.js';
import { revoker } from './revocation.js';
import { jsonObject, parseJson, parseTokenResponse } from './token-response.js';
import { rotatedIn, type TokenSet } from './tokens.js';
import {
  checkObject,
  checkOptions,
  describeSecret,
  expected,
  isBoolean,
  isFunction,
  isNonEmptyString,
  isNumberFrom,
  oneOf,
  show,
  readOptions,
  withDefaults,
} from './validate.js';
import type { Rule } from './validate.js';

/**
 * How the client authenticates at the token endpoint (RFC 6749 §2.3.1, OpenID Connect Core §9).
 *
 * - `'client_secret_basic'`: `Authorization: Basic base64(form(clientId):form(clientSecret))`.
 * - `'client_secret_post'`: `client_id` and `client_secret` in the request body.
 * - `'none'`: a public client; only `client_id` in the body.
 */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/**
 * How `client_secret_basic` encodes the client id and secret before Base64.
 *
 * - `'form-urlencoded'`: RFC 6749 §2.3.1: each is `application/x-www-form-urlencoded` first, so a secret with
 *   `%&+ :` survives. What conforming servers (oidc-provider, Keycloak, Spring Authorization Server…) decode.
 * - `'raw'`: `base64(utf8(clientId + ':' + clientSecret))`, for servers that do not URL-decode the Basic credentials.
 *   Identical to the default for ids and secrets made only of letters, digits and `-._*`.
 */
export type BasicAuthEncoding = 'form-urlencoded' | 'raw';

/** What the {@link RefreshTokenGrantOptions.headers} hook receives: the token request about to be sent. */
export interface TokenRequest {
  /** The absolute token endpoint URL (for a DPoP proof's `htu`). */
  readonly url: string;
  /** Always `'POST'` (for a DPoP proof's `htm`). */
  readonly method: 'POST';
  /**
   * The form body about to be sent. The hook may add parameters to it (e.g. `client_assertion` and
   * `client_assertion_type` for `private_key_jwt`, used with `authMethod: 'none'`).
   */
  readonly body: URLSearchParams;
  /** Fires when the refresh is abandoned (timeout, session closed). */
  readonly signal: AbortSignal;
}

/** Extra headers for one token request; `undefined` adds none. */
export type TokenRequestHeaders = Readonly<Record<string, string>> | undefined;

/**
 * Options of {@link refreshTokenGrant}. Validated once, when `refreshTokenGrant` is called; a bad value throws a
 * `TypeError` naming the option.
 */
export interface RefreshTokenGrantOptions {
  /**
   * The authorization server's token endpoint. Must be `https:`; plain `http:` is accepted only for a loopback host
   * (`localhost`, `127.0.0.1`, `[::1]`) unless {@link allowInsecureHttp} is set. Must not contain credentials.
   *
   * Give `tokenUrl` or {@link issuer} (or both: `tokenUrl` then wins over the metadata's `token_endpoint`).
   *
   * @example 'https://auth.example.com/realms/acme/protocol/openid-connect/token'
   */
  readonly tokenUrl?: string | URL;
  /**
   * The authorization server's issuer identifier, to discover the token and revocation endpoints from its metadata
   * (RFC 8414, OpenID Connect Discovery; see `discover`): fetched on the first refresh (or revocation), once however
   * many start together, then kept for the life of the grant; a failed fetch is retried on the next call. The
   * metadata's `issuer` must be the same URL, compared as parsed URLs (as oauth4webapi does: `https://a.example` and
   * `https://a.example/` are one issuer; after a path a trailing slash counts). Same https rule as `tokenUrl`; no query
   * or fragment. Discovery never follows a redirect.
   *
   * @example 'https://auth.example.com/realms/acme'
   */
  readonly issuer?: string | URL;
  /**
   * The revocation endpoint (RFC 7009) that `logout()` calls through the grant's `revoke`. Wins over the metadata's
   * `revocation_endpoint`. Same https rule as `tokenUrl`. With neither this nor `issuer`, the grant cannot revoke and
   * `logout()` only clears the tokens.
   *
   * @default the metadata's `revocation_endpoint` when `issuer` is given, else none
   */
  readonly revocationUrl?: string | URL;
  /** The OAuth client id. A non-empty string. */
  readonly clientId: string;
  /**
   * The client secret of a confidential client. Omit it (or pass `undefined`) for a public client
   * (`authMethod: 'none'`). Never appears in an error message.
   */
  readonly clientSecret?: string | undefined;
  /**
   * How the client authenticates; see {@link ClientAuthMethod}. `'client_secret_basic'` and `'client_secret_post'`
   * need `clientSecret`; `'none'` must not have one.
   *
   * @default 'client_secret_basic' when `clientSecret` is given, else 'none'
   */
  readonly authMethod?: ClientAuthMethod;
  /**
   * How `client_secret_basic` encodes the credentials; see {@link BasicAuthEncoding}. Only change it when the server
   * answers `invalid_client` to a secret with special characters that is right.
   *
   * @default 'form-urlencoded'
   */
  readonly basicAuthEncoding?: BasicAuthEncoding;
  /**
   * The `scope` to ask for: a space-separated string or a list. It may only narrow the scopes originally granted
   * (RFC 6749 §6). Omitted: the server grants the original scopes.
   *
   * @example ['openid', 'offline_access']
   */
  readonly scope?: string | readonly string[];
  /**
   * More body parameters, e.g. `resource` (RFC 8707) or `audience`. A list sends the parameter once per value. May not
   * set what this function sets itself: `grant_type`, `refresh_token`, `client_id`, `client_secret`, `scope`.
   *
   * @example { resource: 'https://api.example.com' }
   */
  readonly extraParams?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * The axios instance that sends the token request. By default a plain `axios.create()` made on first use, so the
   * request never passes through this plugin's interceptors (or any other). When you pass the instance the plugin is
   * attached to, the request is sent with `skipAuthRefresh: true`.
   *
   * @default a fresh `axios.create()`
   */
  readonly axios?: AxiosInstance;
  /**
   * How long one refresh (or `revoke`) may take, in milliseconds: discovery, the request and a wait for a short
   * `Retry-After`, from the first byte sent to the last byte read (a total deadline, unlike axios's idle `timeout`), so
   * a server that trickles its answer fails with `REFRESH_FAILED` too. A finite number > 0.
   * Keep it below the session's `refreshTimeoutMs` so that a slow server is reported as `REFRESH_FAILED` with its
   * cause.
   *
   * @default 10_000
   */
  readonly timeoutMs?: number;
  /**
   * Adds headers to each token request, and may add body parameters (e.g. a `client_assertion` for
   * `private_key_jwt`). Called once per attempt. Its headers override the defaults. For DPoP, use {@link dpop}.
   * When it throws, the refresh fails with `REFRESH_FAILED` and that error as `cause`.
   *
   * @example ({ url }) => ({ 'X-Request-Id': requestId(url) })
   */
  readonly headers?: (request: TokenRequest) => TokenRequestHeaders | Promise<TokenRequestHeaders>;
  /**
   * Allows a plain `http:` token URL on a non-loopback host. The refresh token and client secret then cross the
   * network in clear text: only for a development network.
   *
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
  /**
   * When the server answers HTTP 429 or 503 with a `Retry-After` of at most this many milliseconds, the request is
   * retried once after that wait (if it fits in {@link timeoutMs}); a longer wait fails at once with `REFRESH_FAILED`
   * and `retryAfterMs`. A finite number >= 0; 0 never retries. Other failures are never retried: the server may
   * already have rotated the refresh token.
   *
   * @default 2_000
   */
  readonly maxRetryAfterMs?: number;
  /**
   * Ask for DPoP-bound tokens (RFC 9449): the key from `createDpop()` of `axios-token-refresh/dpop`, the same one as
   * the session's `dpop`. Each token request carries a fresh proof (with the token endpoint's latest nonce); an HTTP
   * 400 `use_dpop_nonce` is answered once with the new nonce; a `Bearer` answer is a `CONFIGURATION_ERROR`. Without
   * it, a `DPoP` answer is a `CONFIGURATION_ERROR`: the plugin could not send that token.
   *
   * @default undefined (Bearer tokens)
   */
  readonly dpop?: DpopHooks;
}

/**
 * The token endpoint's success answer (RFC 6749 §5.1), as sent on the wire. `refreshTokenGrant` turns it into a
 * {@link TokenSet}; the type is exported for custom `refresh` functions that call an OAuth endpoint themselves.
 */
export interface OAuthTokenResponse {
  /** The new access token. */
  readonly access_token: string;
  /** `Bearer` or `DPoP`, in any case. */
  readonly token_type: string;
  /** Lifetime of the access token in seconds (some servers send a numeric string). */
  readonly expires_in?: number | string;
  /** A new refresh token, when the server rotates it. */
  readonly refresh_token?: string;
  /** The scopes granted, space-separated. */
  readonly scope?: string;
  /** OpenID Connect ID token. */
  readonly id_token?: string;
  /** Anything else, e.g. Keycloak's `refresh_expires_in`. */
  readonly [member: string]: unknown;
}

/** The token endpoint's error answer (RFC 6749 §5.2), as sent on the wire. */
export interface OAuthErrorResponse {
  /** The error code, e.g. `invalid_grant`. */
  readonly error: string;
  /** Human-readable detail for the developer. */
  readonly error_description?: string;
  /** A page about the error. */
  readonly error_uri?: string;
}

const AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];
const BASIC_ENCODINGS: readonly BasicAuthEncoding[] = ['form-urlencoded', 'raw'];
const RESERVED_PARAMS = ['grant_type', 'refresh_token', 'client_id', 'client_secret', 'scope'];

/** The grants' defaults, merged once. `authMethod`'s depends on `clientSecret`: see `clientAuthentication`. */
const GRANT_DEFAULTS = {
  timeoutMs: 10_000,
  maxRetryAfterMs: 2_000,
  basicAuthEncoding: 'form-urlencoded' as BasicAuthEncoding,
  allowInsecureHttp: false,
};

/** Every option of the grants, each read once (see `readOptions`). */
const GRANT_OPTIONS = [
  'tokenUrl',
  'issuer',
  'revocationUrl',
  'clientId',
  'clientSecret',
  'authMethod',
  'basicAuthEncoding',
  'scope',
  'extraParams',
  'axios',
  'timeoutMs',
  'headers',
  'allowInsecureHttp',
  'maxRetryAfterMs',
  'dpop',
] as const satisfies readonly (keyof RefreshTokenGrantOptions)[];

/** The options checked last, each on its own. */
const GRANT_RULES: readonly Rule[] = [
  ['axios', 'an axios instance', isAxiosInstance],
  ['timeoutMs', 'a finite number > 0', isNumberFrom(0, true)],
  ['maxRetryAfterMs', 'a finite number >= 0', isNumberFrom(0)],
  ['headers', 'a function', isFunction],
  ['dpop', 'the result of createDpop() (axios-token-refresh/dpop)', isDpopHooks],
];

/** What `createDpop()` returns: a `proof` maker and a nonce memory. */
function isDpopHooks(value: unknown): boolean {
  const hooks = value as Partial<DpopHooks> | null | undefined;
  return isFunction(hooks?.proof) && isFunction(hooks?.rememberNonce);
}

/** What each RFC 6749 §5.2 error that means "the client is set up wrong" asks the developer to fix. @internal */
export const CONFIGURATION_HINTS: Readonly<Record<string, string>> = {
  invalid_client:
    'the client authentication was refused: check `clientId`, `clientSecret` and `authMethod` ' +
    "(some servers want 'client_secret_post', or `basicAuthEncoding: 'raw'` for a secret with special characters)",
  unauthorized_client:
    'this client may not use the refresh_token grant: allow it for this client on the authorization server',
  unsupported_grant_type:
    'the server does not support grant_type=refresh_token here: check `tokenUrl` and the server settings',
  invalid_scope: 'the requested `scope` was refused: it may only narrow the scopes originally granted',
  invalid_dpop_proof:
    'the server refused the DPoP proof: check the clock of this machine and that the server accepts ES256 proofs',
  invalid_request:
    'the server found the request malformed: check `authMethod` (a secret sent two ways, or a missing client_id) ' +
    'and `extraParams`',
};

/** OAuth error codes that say "try again later", whatever the status (RFC 6749 §4.1.2.1, used by some servers here). */
const TRANSIENT_ERRORS: ReadonlySet<string | undefined> = new Set([
  'server_error',
  'temporarily_unavailable',
  'slow_down',
  'use_dpop_nonce',
]);

/** A grant's options after validation; the token endpoint may still be unknown (discovery). @internal */
export interface GrantConfig {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly authMethod: ClientAuthMethod;
  readonly basicAuthEncoding: BasicAuthEncoding;
  readonly scope: string | undefined;
  readonly extraParams: ReadonlyArray<readonly [string, string]>;
  readonly axios?: AxiosInstance | undefined;
  readonly timeoutMs: number;
  readonly headers?: RefreshTokenGrantOptions['headers'];
  readonly maxRetryAfterMs: number;
  readonly dpop?: DpopHooks | undefined;
  readonly allowInsecureHttp: boolean;
  /** `tokenUrl`, when given. */
  readonly tokenEndpoint: Endpoint | undefined;
  /** `revocationUrl`, when given. */
  readonly revocationEndpoint: Endpoint | undefined;
  /** The endpoints from the issuer's metadata, when `issuer` is given: fetched once, kept. */
  readonly discovered: Discovered | undefined;
  /** The axios instance for every call of this grant: the `axios` option, or one created on first use. */
  readonly client: () => AxiosInstance;
}

/** What one token request needs: the grant's options and the token endpoint it goes to. */
type ResolvedOptions = GrantConfig & Endpoint;

/** One call of a grant at the token endpoint. @internal */
export interface GrantRequest {
  /** `grant_type` and the grant's own parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** Kept when the answer has no refresh token. */
  readonly previousRefreshToken: string | undefined;
  /** Values to scrub from server text (the refresh and access tokens, the secret). */
  readonly secrets: readonly string[];
  /**
   * How this grant reads an answer without tokens that is not a "later" (5xx, 429, a transient OAuth error), when it
   * reads it differently from the refresh token grant; undefined leaves it to {@link refreshVerdict}.
   */
  readonly verdict?: (status: number, oauth: OAuthError | undefined, answered: string) => Verdict | undefined;
}

/**
 * Returns a `refresh` function that runs the OAuth 2.0 refresh token grant (RFC 6749 §6) against `tokenUrl` (or the
 * `token_endpoint` discovered from `issuer`): a form-encoded `POST grant_type=refresh_token&refresh_token=…` with the
 * chosen client authentication. When a revocation endpoint is known (`revocationUrl`, or `issuer`), the function
 * carries `revoke(tokens, { signal })` (RFC 7009), which `logout()` calls.
 *
 * The answer becomes a {@link TokenSet}: `expiresAt` counts `expires_in` from when the request was sent; the previous
 * refresh token is kept when the server sends none; `id_token` and `scope` become `idToken` and `scope`; any other
 * member (e.g. Keycloak's `refresh_expires_in`) is kept in `extra`. Failures are {@link TokenRefreshError}s:
 * `invalid_grant` (and any other 400/401) is `SESSION_EXPIRED`; an error that means the client is set up wrong
 * (`invalid_client`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, `invalid_request`, an
 * unsupported `token_type`, a 404) is `CONFIGURATION_ERROR`; 5xx, 429, network errors and timeouts are
 * `REFRESH_FAILED`; a 2xx without a usable token is `INVALID_TOKEN_RESPONSE`. No message contains a token or the
 * client secret.
 *
 * @param options - see {@link RefreshTokenGrantOptions}.
 * @throws TypeError when an option is invalid.
 *
 * @example
 * ```ts
 * attachRefresh(api, {
 *   tokens: await loadTokens(),
 *   refresh: refreshTokenGrant({
 *     tokenUrl: 'https://auth.example.com/oauth/token',
 *     clientId: 'my-app',
 *     clientSecret: process.env.CLIENT_SECRET,
 *   }),
 *   onTokens: saveTokens,
 * });
 * ```
 */
export function refreshTokenGrant(options: RefreshTokenGrantOptions): RefreshFunction {
  const config = resolveOptions(options, 'refreshTokenGrant', RESERVED_PARAMS);

  const refresh = async function refreshTokenGrantRefresh(current: TokenSet, context?: Partial<RefreshContext>) {
    const refreshToken = (current as TokenSet | null | undefined)?.refreshToken;
    if (!isNonEmptyString(refreshToken)) {
      throw new TokenRefreshError(
        'SESSION_EXPIRED',
        'Token refresh needs a refresh token, and the current tokens have none',
      );
    }
    const secrets = secretsOf(config, refreshToken, current.accessToken);
    return requestTokens(
      config,
      {
        params: { grant_type: 'refresh_token', refresh_token: refreshToken },
        previousRefreshToken: refreshToken,
        secrets,
      },
      context?.signal ?? new AbortController().signal,
    );
  };
  return withRevoke(refresh, config);
}

/**
 * Adds `revoke` to a grant's function when it knows a revocation endpoint (or may discover one), and `dpop` when the
 * grant has a DPoP key. @internal
 *
 * @param refresh - the grant's function.
 * @param config - its options.
 */
export function withRevoke<T extends RefreshFunction>(refresh: T, config: GrantConfig): T {
  const revoke = revoker(config, config.revocationEndpoint, config.discovered);
  // The grant's DPoP key rides along, so that a session given only the grant signs with the same key.
  const extras = { ...(revoke && { revoke }), ...(config.dpop && { dpop: config.dpop }) };
  return Object.assign(refresh, extras);
}

/**
 * Runs one grant at the token endpoint: discovery when needed, the request with one wait for a short `Retry-After`,
 * the answer turned into a {@link TokenSet} or a {@link TokenRefreshError}. The whole is bounded by `timeoutMs`: one
 * abort signal, fired by a timer or by `signal`, covers every byte of every request. @internal
 *
 * @param config - the grant's options.
 * @param grant - what this call sends.
 * @param signal - aborts the call.
 */
export async function requestTokens(config: GrantConfig, grant: GrantRequest, signal: AbortSignal): Promise<TokenSet> {
  const deadline = deadlineSignal(signal, config.timeoutMs);
  try {
    return await requestTokensWithin(config, grant, deadline);
  } finally {
    deadline.clear();
  }
}

async function requestTokensWithin(config: GrantConfig, grant: GrantRequest, deadline: Deadline): Promise<TokenSet> {
  const started = Date.now();
  const endpoint = config.tokenEndpoint ?? (await (config.discovered as Discovered)(deadline)).token;
  const resolved: ResolvedOptions = { ...config, ...endpoint };
  const client = config.client();
  let retried = false;
  let nonceRetried = false;
  for (;;) {
    const { response, sentAt } = await post(client, resolved, grant.params, deadline);
    const { status } = response;
    // RFC 9449 §8: the server wants a nonce in the proof. The grant was refused before use, so sending it again is
    // safe.
    if (!nonceRetried && asksForNonce(response, resolved)) {
      nonceRetried = true;
      continue;
    }
    const retryAfterMs =
      status === 429 || status === 503 ? parseRetryAfter(headerValue(response.headers, 'retry-after')) : undefined;
    if (!retried && mayWait(retryAfterMs, resolved, started)) {
      retried = true;
      await sleep(retryAfterMs, deadline, resolved);
      continue;
    }
    return interpret(response, sentAt, grant, resolved, retryAfterMs);
  }
}

/** Whether to wait out a `Retry-After` and ask again: a short one (`maxRetryAfterMs`) that ends within `timeoutMs`. */
function mayWait(retryAfterMs: number | undefined, options: ResolvedOptions, started: number): retryAfterMs is number {
  return (
    retryAfterMs !== undefined &&
    retryAfterMs <= options.maxRetryAfterMs &&
    Date.now() + retryAfterMs < started + options.timeoutMs
  );
}

/** One POST to the token endpoint: the form, the DPoP proof and the hook's headers, then the request. */
async function post(
  client: AxiosInstance,
  options: ResolvedOptions,
  grantParams: Readonly<Record<string, string>>,
  deadline: Deadline,
): Promise<{ response: AxiosResponse<unknown>; sentAt: number }> {
  const { signal } = deadline;
  const { body, headers } = authenticatedForm(options, grantParams, { Accept: 'application/json' });
  if (options.scope !== undefined) body.set('scope', options.scope);
  for (const [name, value] of options.extraParams) body.append(name, value);
  if (options.dpop !== undefined) headers['DPoP'] = await dpopProof(options.dpop, options.url);
  if (options.headers) mergeHeaders(headers, await hookHeaders(options, body, signal));
  if (signal.aborted) throw transportError(undefined, options, deadline);
  const sentAt = Date.now();
  try {
    const response = await send(client, 'POST', options.url.href, headers, signal, body.toString());
    options.dpop?.rememberNonce(options.url, headerValue(response.headers, 'dpop-nonce'));
    return { response, sentAt };
  } catch (error) {
    throw transportError(error, options, deadline);
  }
}

/** A fresh DPoP proof for the token endpoint; when none can be made, the refresh fails. */
async function dpopProof(dpop: DpopHooks, url: URL): Promise<string> {
  try {
    return await dpop.proof({ method: 'POST', url });
  } catch (error) {
    throw new TokenRefreshError('REFRESH_FAILED', 'Token refresh failed: the DPoP proof could not be made', {
      cause: error,
    });
  }
}

/** What the `headers` hook returns for this request, checked: header names to strings (none when undefined). */
async function hookHeaders(
  options: ResolvedOptions,
  body: URLSearchParams,
  signal: AbortSignal,
): Promise<Readonly<Record<string, unknown>>> {
  let extra: TokenRequestHeaders;
  try {
    extra = await options.headers?.({ url: options.url.href, method: 'POST', body, signal });
  } catch (error) {
    throw new TokenRefreshError('REFRESH_FAILED', 'Token refresh failed: the `headers` hook threw', { cause: error });
  }
  if (extra === undefined) return {};
  if (typeof extra !== 'object' || extra === null) {
    throw badHook('must return an object of header names to string values');
  }
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value !== 'string') throw badHook(`returned a non-string value for the \`${name}\` header`);
  }
  return extra;
}

function badHook(problem: string): TokenRefreshError {
  return new TokenRefreshError('CONFIGURATION_ERROR', `Token refresh failed: the \`headers\` hook ${problem}`);
}

/** Adds the hook's headers; names are case-insensitive, so its `authorization` replaces our `Authorization`. */
function mergeHeaders(headers: Record<string, string>, extra: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(extra)) {
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    }
    headers[name] = value as string;
  }
}

/** Turns the token endpoint's answer into a {@link TokenSet}, or throws the {@link TokenRefreshError} it means. */
function interpret(
  response: AxiosResponse<unknown>,
  sentAt: number,
  grant: GrantRequest,
  options: ResolvedOptions,
  retryAfterMs: number | undefined,
): TokenSet {
  const { status } = response;
  const json = parseJson(response.data);
  const body = jsonObject(json);
  const oauth = oauthError(body, grant.secrets);
  // A 2xx is an error answer when it has an RFC 6749 §5.2 `error` and no `access_token`.
  if (!isSuccess(status) || (oauth && body?.['access_token'] === undefined)) {
    const said = answered(status, oauth, options);
    const [code, message] = verdict(status, oauth, grant, retryAfterMs, said, json !== undefined);
    throw new TokenRefreshError(code, message, { status, ...oauth, retryAfterMs });
  }
  try {
    const tokens = parseTokenResponse(json, {
      receivedAt: sentAt,
      previousRefreshToken: grant.previousRefreshToken,
      unusable: `Token refresh got an unusable answer from the token endpoint ${options.where} (HTTP ${status})`,
      issued: `Token refresh misconfigured: the token endpoint ${options.where} issued a token of type`,
      status,
    });
    checkTokenType(tokens, options, status);
    return tokens;
  } catch (error) {
    // The server may have rotated the refresh token all the same: the session must not present the spent one again.
    const rotated = body?.['refresh_token'];
    if (isNonEmptyString(rotated) && rotated !== grant.previousRefreshToken) rotatedIn.set(error as object, rotated);
    throw error;
  }
}

/** How messages tell what the token endpoint said: ``the token endpoint … answered HTTP 400 (invalid_grant: …)``. */
function answered(status: number, oauth: OAuthError | undefined, options: ResolvedOptions): string {
  const described = oauth?.oauthErrorDescription === undefined ? '' : `: ${oauth.oauthErrorDescription}`;
  return (
    `the token endpoint ${options.where} answered HTTP ${status}` +
    `${oauth ? ` (${oauth.oauthError}${described})` : ''}`
  );
}

/** What an answer without tokens means: the error's code and message. @internal */
export type Verdict = [code: 'SESSION_EXPIRED' | 'REFRESH_FAILED' | 'CONFIGURATION_ERROR', message: string];

/** What an answer without tokens means, for the error code and message: see {@link refreshTokenGrant}. */
function verdict(
  status: number,
  oauth: OAuthError | undefined,
  grant: GrantRequest,
  retryAfterMs: number | undefined,
  answered: string,
  json: boolean,
): Verdict {
  if (isBusy(status) || TRANSIENT_ERRORS.has(oauth?.oauthError)) {
    const wait = retryAfterMs === undefined ? '' : `; it asks to retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    return ['REFRESH_FAILED', `Token refresh failed: ${answered}${wait}`];
  }
  return grant.verdict?.(status, oauth, answered) ?? refreshVerdict(status, oauth, answered, json);
}

/** The refresh token grant: a refusal of the grant itself ends the session; a set-up problem is named. */
function refreshVerdict(status: number, oauth: OAuthError | undefined, answered: string, json: boolean): Verdict {
  if (oauth?.oauthError === 'invalid_grant') {
    return [
      'SESSION_EXPIRED',
      `Token refresh refused: ${answered}; the refresh token is expired, revoked or already used`,
    ];
  }
  // league/oauth2-server before 8 (Laravel Passport 7, ProcessMaker 4.0) refuses a dead refresh token with a 401
  // `invalid_request` ("The refresh token is invalid."): a refusal of the grant, not a malformed request.
  const deadToken = status === 401 && oauth?.oauthError === 'invalid_request';
  const hint = deadToken ? undefined : hintFor(oauth, status, CONFIGURATION_HINTS);
  if (hint !== undefined) return ['CONFIGURATION_ERROR', `Token refresh misconfigured: ${answered}; ${hint}`];
  if (!json && (status === 400 || status === 401)) {
    // Not a verdict on the grant: an HTML page or an empty body, from a gateway, a WAF or a proxy in front of the
    // server. Ending the session on it would log users out on someone else's hiccup. A JSON answer without an RFC
    // 6749 `error` is the server's own (Fitbit's `errors`, a framework's `message`): it still ends the session.
    return ['REFRESH_FAILED', `Token refresh failed: ${answered}, not JSON; tokens kept`];
  }
  if (status === 400 || status === 401 || isSuccess(status)) {
    return ['SESSION_EXPIRED', `Token refresh refused: ${answered}`];
  }
  if (status === 404 || status === 405) {
    return ['CONFIGURATION_ERROR', `Token refresh misconfigured: ${answered}; check \`tokenUrl\``];
  }
  if (isRedirect(status)) {
    return [
      'CONFIGURATION_ERROR',
      `Token refresh misconfigured: ${answered}, a redirect, not followed` +
        `${status ? ' (the credentials stay at the configured URL)' : ''}; set \`tokenUrl\` to the final URL`,
    ];
  }
  return ['REFRESH_FAILED', `Token refresh failed: ${answered}`];
}

/**
 * The hint for an OAuth error code, when `hints` has one. A 401 `unauthorized_client` is a refused client
 * authentication (RFC 6749 §5.2: 401 is the status of `invalid_client`), as Keycloak answers a wrong secret. @internal
 *
 * @param oauth - the answer's error, if any.
 * @param status - the answer's HTTP status.
 * @param hints - hints by error code.
 */
export function hintFor(
  oauth: OAuthError | undefined,
  status: number,
  hints: Readonly<Record<string, string>>,
): string | undefined {
  if (status === 401 && oauth?.oauthError === 'unauthorized_client') return CONFIGURATION_HINTS.invalid_client;
  return oauth && Object.hasOwn(hints, oauth.oauthError) ? hints[oauth.oauthError] : undefined;
}

/** Never a silent change of scheme: the session would send a token the resource server refuses. */
function checkTokenType(tokens: TokenSet, options: ResolvedOptions, status: number): void {
  const dpop = tokens.tokenType === 'DPoP';
  if (dpop === (options.dpop !== undefined)) return;
  throw new TokenRefreshError(
    'CONFIGURATION_ERROR',
    dpop
      ? `Token refresh misconfigured: the token endpoint ${options.where} issued a DPoP-bound token, but the grant ` +
          "has no `dpop`: pass it the session's (createDpop() of axios-token-refresh/dpop), or turn DPoP off for " +
          'this client on the authorization server'
      : `Token refresh misconfigured: a DPoP proof was sent, but the token endpoint ${options.where} issued a Bearer ` +
          'token: enable DPoP for this client on the authorization server, or remove `dpop` from the grant and the ' +
          'session',
    { status },
  );
}

/**
 * Whether a token endpoint answer to a DPoP grant is RFC 9449 §8's HTTP 400 `use_dpop_nonce` with a nonce to use
 * (remembered by `post`).
 */
function asksForNonce(response: AxiosResponse<unknown>, options: ResolvedOptions): boolean {
  const body = parseJson(response.data) as { error?: unknown } | undefined;
  return (
    options.dpop !== undefined &&
    response.status === 400 &&
    body?.error === 'use_dpop_nonce' &&
    typeof headerValue(response.headers, 'dpop-nonce') === 'string'
  );
}

function timeoutError(options: ResolvedOptions, cause?: Error): TokenRefreshError {
  return tooSlow(`Token refresh failed: the token endpoint ${options.where}`, options.timeoutMs, cause);
}

/**
 * Turns what axios threw into a `REFRESH_FAILED` whose cause holds no secret (see `requestError`).
 *
 * @param aborted - what to say when the caller aborted.
 */
function transportError(
  error: unknown,
  options: ResolvedOptions,
  deadline: Deadline,
  aborted = 'the refresh was aborted',
): TokenRefreshError {
  return requestError(
    error,
    deadline,
    'Token refresh failed',
    `the token endpoint ${options.where}`,
    (cause) => timeoutError(options, cause),
    aborted,
  );
}

/** Waits out a `Retry-After`, unless the deadline passes or the caller aborts first. */
function sleep(ms: number, deadline: Deadline, options: ResolvedOptions): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  const stopped = (): TokenRefreshError =>
    transportError(undefined, options, deadline, 'the refresh was aborted while waiting for its Retry-After');
  return untilAborted(waited, deadline.signal, stopped).finally(() => clearTimeout(timer));
}

/**
 * Validates a grant's options once, at creation; throws a `TypeError` naming the first bad one. @internal
 *
 * @param options - the grant's options.
 * @param grantName - the factory, for messages.
 * @param reserved - body parameters `extraParams` may not set.
 */
export function resolveOptions(
  options: RefreshTokenGrantOptions,
  grantName: string,
  reserved: readonly string[],
): GrantConfig {
  checkObject(options);
  const given = readOptions(options, GRANT_OPTIONS);
  checkOptions(given, [['allowInsecureHttp', 'a boolean', isBoolean]], show);
  const settings = withDefaults(GRANT_DEFAULTS, given);
  const client = lazyClient(settings.axios);
  const endpoints = resolveEndpoints(settings, client);
  checkOptions(settings, [['clientId', 'a non-empty string', isNonEmptyString, true]], show);
  const credentials = clientAuthentication(settings);
  const scope = scopeText(settings.scope);
  const extraParams = extraParamList(settings.extraParams, grantName, reserved);
  checkOptions(settings, GRANT_RULES, show);
  return { ...settings, ...endpoints, ...credentials, client, scope, extraParams };
}

/** `clientSecret`, `authMethod` (whose default depends on the secret) and `basicAuthEncoding`, checked together. */
function clientAuthentication(options: RefreshTokenGrantOptions): ClientCredentials {
  const { clientId, clientSecret } = options;
  // Never shown, even of the wrong type: described by its type alone.
  checkOptions(options, [['clientSecret', 'a non-empty string or undefined', isNonEmptyString]], describeSecret);
  const authMethod = options.authMethod ?? (clientSecret === undefined ? 'none' : 'client_secret_basic');
  checkOptions({ authMethod }, [['authMethod', ...oneOf(AUTH_METHODS)]], show);
  if (authMethod !== 'none' && clientSecret === undefined) {
    throw new TypeError(expected('clientSecret', `a non-empty string with \`authMethod: '${authMethod}'\``, undefined));
  }
  if (authMethod === 'none' && clientSecret !== undefined) {
    throw new TypeError(
      `${expected('clientSecret', "undefined with `authMethod: 'none'` (a public client)", clientSecret)}; ` +
        "use 'client_secret_basic' or 'client_secret_post' to send it",
    );
  }
  checkOptions(options, [['basicAuthEncoding', ...oneOf(BASIC_ENCODINGS)]], show);
  return { clientId, clientSecret, authMethod, basicAuthEncoding: options.basicAuthEncoding as BasicAuthEncoding };
}

/** The `scope` option as the one space-separated string sent, or undefined when not given. */
function scopeText(scope: unknown): string | undefined {
  if (scope === undefined) return undefined;
  const list: unknown[] =
    typeof scope === 'string' ? scope.split(' ').filter(Boolean) : Array.isArray(scope) ? scope : [];
  const isName = (name: unknown): boolean => isNonEmptyString(name) && !/\s/.test(name);
  if (list.length === 0 || !list.every(isName)) {
    throw new TypeError(expected('scope', 'a non-empty space-separated string or a list of scope names', scope, show));
  }
  return list.join(' ');
}

/** The `extraParams` option as the `[name, value]` pairs sent, one per value of a list. */
function extraParamList(
  extraParams: unknown,
  grantName: string,
  reserved: readonly string[],
): Array<readonly [string, string]> {
  if (extraParams === undefined) return [];
  if (typeof extraParams !== 'object' || extraParams === null || Array.isArray(extraParams)) {
    throw new TypeError(expected('extraParams', 'an object of parameter names to strings', extraParams));
  }
  return Object.entries(extraParams).flatMap(([name, value]: [string, unknown]) => {
    if (reserved.includes(name)) {
      const instead =
        name === 'scope'
          ? '; use the `scope` option'
          : name.startsWith('client_')
            ? '; use `clientId`, `clientSecret` and `authMethod`'
            : '';
      throw new TypeError(`Expected \`extraParams\` not to set \`${name}\`: ${grantName} sets it${instead}`);
    }
    const values: unknown[] = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (typeof item !== 'string')
        throw new TypeError(expected(`extraParams.${name}`, 'a string or a list of strings', item));
    }
    return values.map((item) => [name, item as string] as const);
  });
}

/** `tokenUrl`, `issuer` and `revocationUrl`: at least one way to the token endpoint, each under the https rule. */
function resolveEndpoints(
  options: RefreshTokenGrantOptions & typeof GRANT_DEFAULTS,
  client: () => AxiosInstance,
): Pick<GrantConfig, 'tokenEndpoint' | 'revocationEndpoint' | 'discovered'> {
  const { tokenUrl, issuer, revocationUrl, allowInsecureHttp, timeoutMs } = options;
  // Neither `tokenUrl` nor `issuer`: the missing `tokenUrl` is the one named.
  const orIssuer = (problem: string): Error => new TypeError(`${problem}, or give \`issuer\``);
  const tokenEndpoint =
    tokenUrl === undefined
      ? issuer === undefined
        ? checkEndpointUrl('tokenUrl', tokenUrl, allowInsecureHttp, orIssuer)
        : undefined
      : checkEndpointUrl('tokenUrl', tokenUrl, allowInsecureHttp);
  const revocationEndpoint =
    revocationUrl === undefined ? undefined : checkEndpointUrl('revocationUrl', revocationUrl, allowInsecureHttp);
  // A bad `timeoutMs` is refused right after; discovery starts no sooner than the first refresh.
  const discovered =
    issuer === undefined
      ? undefined
      : discoveredEndpoints(checkIssuer(issuer, allowInsecureHttp), client, timeoutMs, allowInsecureHttp);
  return { tokenEndpoint, revocationEndpoint, discovered };
}
