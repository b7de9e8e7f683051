import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { TokenRefreshError } from './errors.js';
import type { TokenStore } from './store.js';
import type { TokenSet } from './tokens.js';

/**
 * Why a refresh runs: `unauthorized` (a request came back 401 with the current token), `expired` (the access token is
 * expired or inside the leeway), `missing` (there is a refresh token but no access token, as after a restart), `stale`
 * (an earlier 401 marked the token dead and its refresh failed), `manual` (`refresh()` was called).
 */
export type RefreshReason = 'unauthorized' | 'expired' | 'missing' | 'stale' | 'manual';

/** What `refresh` gets beside the current tokens. */
export interface RefreshContext {
  /** Fires when the refresh timed out or the lock was lost: abort the HTTP call. */
  readonly signal: AbortSignal;
  /** Why this refresh runs. */
  readonly reason: RefreshReason;
}

/**
 * Trades the current tokens for new ones. Resolve with the new {@link TokenSet} (a missing `refreshToken` keeps the
 * old one). Throw an error with `response.status` 400 or 401 (an AxiosError does) when the refresh token is refused
 * for good: the session ends. Throw a {@link TokenRefreshError} to choose the code yourself. Anything else counts as a
 * failure that may pass.
 *
 * @example
 * ```ts
 * const refresh: RefreshFunction = async ({ refreshToken }, { signal }) => {
 *   const { data } = await axios.post('https://api.example.com/auth/refresh', { refreshToken }, { signal });
 *   return { accessToken: data.accessToken, refreshToken: data.refreshToken, expiresAt: data.expiresAt * 1000 };
 * };
 * ```
 */
export type RefreshFunction = ((current: TokenSet, context: RefreshContext) => TokenSet | Promise<TokenSet>) & {
  /**
   * Revokes the tokens at the authorization server (RFC 7009), for `logout()`: the refresh token
   * (`token_type_hint=refresh_token`), then the access token when the server supports it, with the grant's client
   * authentication, within the grant's `timeoutMs`. Rejects with a {@link TokenRefreshError} (`REFRESH_FAILED`,
   * `REFRESH_TIMEOUT` or `CONFIGURATION_ERROR`). Set by `refreshTokenGrant` and `clientCredentialsGrant` when they know
   * a revocation endpoint (`revocationUrl`, or `issuer` for discovery); absent otherwise. Resolves with `false` when
   * it found nothing to call (discovered metadata without a `revocation_endpoint`): `logout()` then reports
   * `revoked: false`.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a custom grant's revoke may be any `async () => {}`
  readonly revoke?: (tokens: TokenSet, context: { readonly signal: AbortSignal }) => Promise<boolean | void>;
  /**
   * `false` when the function needs no refresh token (`clientCredentialsGrant`): the session then calls it with empty
   * tokens (`{}`) to get the first token, and never ends the session for a missing refresh token.
   *
   * @default true
   */
  readonly needsRefreshToken?: boolean;
};

/** The initial tokens: a TokenSet, null (logged out), or a sync or async function that loads them. */
export type TokensSource = TokenSet | null | (() => TokenSet | null | Promise<TokenSet | null>);

/** What the opt-in `debug` hook receives. No event ever carries a token. */
export type DebugEvent =
  | { readonly type: 'refresh:start'; readonly reason: RefreshReason; readonly version: number }
  | {
      readonly type: 'refresh:end';
      readonly outcome: 'ok' | 'adopted' | TokenRefreshError['code'];
      readonly version: number;
      readonly durationMs: number;
    }
  | { readonly type: 'refresh:late'; readonly adopted: boolean }
  | { readonly type: 'request:wait' }
  | { readonly type: 'request:replay'; readonly method: string; readonly url: string; readonly replay: number }
  | {
      readonly type: 'request:skip';
      readonly method: string;
      readonly url: string;
      /** `origin`: not in scope; `skip`: `skipAuthRefresh`; `no-token`: in scope, but there is no access token. */
      readonly why: 'origin' | 'skip' | 'no-token';
    }
  | { readonly type: 'listener:error'; readonly event: SessionEventName; readonly error: unknown };

/** Options of a token session: where the tokens come from, how to refresh them, where to persist them. */
export interface SessionOptions {
  /**
   * The tokens to start with: a {@link TokenSet}, `null` (not logged in), or a sync or async function returning one
   * (called once, on the first request; called again on the next request if it threw). With a shared `store`, these
   * seed the store only when it holds nothing yet.
   *
   * @default null
   */
  readonly tokens?: TokensSource;
  /** Trades the current tokens for new ones; see {@link RefreshFunction}. Required. */
  readonly refresh: RefreshFunction;
  /**
   * Persists tokens: called and awaited with every new token set (after a refresh or `setTokens`) before any
   * request uses it, and with `null` when the session ends. If it throws or takes longer than `refreshTimeoutMs`, the
   * new tokens are used all the same and a `PERSIST_FAILED` error is reported through `refreshError`.
   *
   * @default undefined (nothing is persisted)
   */
  readonly onTokens?: (tokens: TokenSet | null) => void | Promise<void>;
  /**
   * Where tokens live and who may refresh them. Give a shared store (`axios-token-refresh/browser`,
   * `axios-token-refresh/redis`) so tabs or processes refresh once between them.
   *
   * @default a new MemoryTokenStore
   */
  readonly store?: TokenStore;
  /**
   * How long one refresh may take, in milliseconds, before it fails with `REFRESH_TIMEOUT` (its `signal` fires).
   * Also bounds `onTokens` and the `tokens` loader. A finite number > 0.
   *
   * @default 30000
   */
  readonly refreshTimeoutMs?: number;
  /**
   * Refresh before sending when the access token expires within this many milliseconds (needs `expiresAt` or a JWT
   * `exp`). Never more than half the token's lifetime, so short-lived tokens don't refresh on every request.
   * A finite number >= 0.
   *
   * @default 10000
   */
  readonly leewayMs?: number;
  /**
   * Whether a refresh needs a refresh token. With `true`, tokens without one end the session (`SESSION_EXPIRED`)
   * instead of calling `refresh`. Set `false` when the refresh credential lives elsewhere (an httpOnly cookie).
   *
   * @default true
   */
  readonly refreshTokenRequired?: boolean;
  /**
   * Called with what the plugin does (refresh started and finished with its duration, waiting requests, replays).
   * Never receives a token. Off by default; the library never logs by itself.
   *
   * @default undefined
   * @example
   * ```ts
   * debug: (event) => console.debug('[auth]', event)
   * ```
   */
  readonly debug?: (event: DebugEvent) => void;
  /**
   * Sender-constrained tokens (RFC 9449): the key from `createDpop()` of `axios-token-refresh/dpop`. Every request
   * the plugin attaches a token to then also carries a fresh `DPoP` proof, and a 401 `use_dpop_nonce` is sent again
   * with the server's nonce instead of refreshing. Give the same key to `refreshTokenGrant({ dpop })`; the tokens'
   * `tokenType` must be `'DPoP'`.
   *
   * @default undefined (Bearer tokens)
   */
  readonly dpop?: DpopHooks;
}

/** Options that apply to one axios instance. */
export interface InstanceOptions {
  /**
   * Origins (besides the instance's own) that get the token and whose 401s trigger a refresh: a list of origins such
   * as `'https://api.example.com'` (bare `http:`/`https:` origins), or a predicate. The own origin is the `baseURL`'s,
   * or the page's in a browser. The origin compared is the request's real destination (`baseURL` and `url` joined as
   * axios joins them, resolved as the browser or Node does): see docs/scope.md.
   *
   * @default [] (own origin only)
   */
  readonly allowedOrigins?: readonly string[] | ((origin: string, config: InternalAxiosRequestConfig) => boolean);
  /**
   * The response statuses that mean "the access token was refused".
   *
   * @default [401]
   */
  readonly statusCodes?: readonly number[];
  /**
   * Decides whether a response with one of `statusCodes` should refresh. The default refreshes unless the
   * `WWW-Authenticate` challenge says `error="insufficient_scope"` or `error="invalid_request"` (RFC 6750 §3.1:
   * a new token would not help).
   *
   * @default refresh unless the challenge says a new token would not help
   */
  readonly shouldRefresh?: (error: AxiosError) => boolean;
  /**
   * How many times one request may be replayed after a refresh. A replay that is refused again rejects with its 401.
   * An integer >= 0.
   *
   * @default 1
   */
  readonly maxReplays?: number;
  /**
   * Replace the token in the Authorization header of `error.config` with `[REDACTED]` when a request fails, so logged
   * errors don't leak it (and a stream body in `error.config.data`, which references the sent request, with
   * `'[stream body removed]'`). Retries still work: the plugin attaches the live token to every request it sends.
   *
   * @default true
   */
  readonly redactAuthorization?: boolean;
}

/** A session's tokens as of one moment: the tokens and the version (generation) they belong to. */
export interface TokenSnapshot {
  /** The tokens, or null when there are none. */
  readonly tokens: TokenSet | null;
  /** The store version of these tokens. A higher version is newer. */
  readonly version: number;
}

/** The events a session emits and what their listeners receive. */
export interface SessionEvents {
  /** New tokens are in use (after a refresh, `setTokens`, or a write by another tab/process); null when logged out. */
  tokens: TokenSet | null;
  /** A refresh failed (any code), or `onTokens` failed (`PERSIST_FAILED`). */
  refreshError: TokenRefreshError;
  /** The refresh token was refused for good: tokens are cleared. Fires once per ended session. */
  sessionExpired: TokenRefreshError;
}

/** The name of a session event. */
export type SessionEventName = keyof SessionEvents;

/** Brands sessions made by `createTokenSession`: a hand-written object cannot pass for one. */
declare const sessionBrand: unique symbol;

/**
 * One login's tokens and their single-flight refresh. Create it with `createTokenSession` to share it between
 * several axios instances, or let `attachRefresh` create one. Only `createTokenSession` makes one (the type is
 * branded): an object written by hand does not compile where a session is expected.
 */
export interface TokenSession extends TokenSessionMethods {
  /** @internal The brand; no value at run time. */
  readonly [sessionBrand]: true;
}

/** The methods of a {@link TokenSession}, which the handle `attachRefresh` returns has too. */
export interface TokenSessionMethods {
  /** The tokens in use now, or null. */
  getTokens(): TokenSet | null;
  /**
   * Replaces the tokens (after a login), or clears them with `null` (logout). Any refresh in flight is discarded;
   * requests waiting for it go out with these tokens. Awaits `onTokens`; rejects with `PERSIST_FAILED` if it threw
   * (the tokens are set all the same).
   *
   * @param tokens - the new tokens, or null.
   */
  setTokens(tokens: TokenSet | null): Promise<void>;
  /**
   * Refreshes now and resolves with the new tokens. Joins a refresh already in flight instead of starting another.
   * Rejects with a {@link TokenRefreshError}.
   */
  refresh(): Promise<TokenSet>;
  /**
   * Listens to an event; returns a function that stops listening.
   *
   * @param event - `tokens`, `refreshError` or `sessionExpired`.
   * @param listener - called with the event's payload. A listener that throws does not break the session.
   */
  on<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): () => void;
  /**
   * Logs out: revokes the refresh token (and the access token) at the server when the grant knows a revocation
   * endpoint (RFC 7009; `refreshTokenGrant` and `clientCredentialsGrant` do), then clears the tokens in the store, so
   * every instance, tab and process sharing the session sees `null` (`onTokens(null)`, a `tokens` event with null).
   * Requests waiting for a refresh fail with `LOGGED_OUT`. A failed or slow revocation (bounded by
   * `refreshTimeoutMs`) never keeps the user logged in: the tokens are cleared anyway, and the failure is reported
   * through `refreshError` and in the result. Not `sessionExpired`: that event means the server ended the session.
   *
   * @param options - `revoke: false` clears everywhere without calling the server.
   */
  logout(options?: { readonly revoke?: boolean }): Promise<LogoutResult>;
  /**
   * An access token valid for at least `minValidityMs`, for use outside axios (a WebSocket or EventSource handshake,
   * `fetch`, a native uploader). Joins a refresh in flight; refreshes first (the same single flight as requests) when
   * the token is missing, refused, or expires sooner. Never returns a token known to be stale. Rejects with the codes
   * a request would (`SESSION_EXPIRED` when logged out).
   *
   * @param options - `minValidityMs`: how long the token must still be valid, in ms (default: the session's
   *   `leewayMs`).
   */
  getAccessToken(options?: { readonly minValidityMs?: number }): Promise<string>;
  /** Stops listening to the store and drops all listeners. Interceptors attached to the session stay in place. */
  close(): Promise<void>;
}

/** What a DPoP proof (RFC 9449 §4) is made for. */
export interface DpopProofRequest {
  /** The HTTP method (`htm`), e.g. `'POST'`; upper-cased. */
  readonly method: string;
  /** The absolute request URL; its query and fragment are left out of `htu`. */
  readonly url: string | URL;
  /** The access token the request carries, for `ath`; omit it at the token endpoint. */
  readonly accessToken?: string | undefined;
  /** The server's nonce. @default the latest `DPoP-Nonce` remembered for the URL's origin, if any */
  readonly nonce?: string | undefined;
}

/**
 * Sends a request again through the instance, as `attachRefresh` replays one: a request whose body was a stream (sent
 * once, gone) is not sent again but fails with `REQUEST_NOT_REPLAYABLE`.
 *
 * @param error - the failure that asks for the new attempt (the `cause` of a `REQUEST_NOT_REPLAYABLE`).
 * @param config - the request's config.
 * @param why - the end of "Request not replayed …", e.g. `'with the new DPoP nonce'`.
 */
export type DpopResend = (error: AxiosError, config: InternalAxiosRequestConfig, why: string) => Promise<AxiosResponse>;

/**
 * What the core and `refreshTokenGrant` need from a DPoP key. `createDpop()` of `axios-token-refresh/dpop` makes one;
 * the core only knows this shape, so an app without DPoP ships none of its code.
 */
export interface DpopHooks {
  /**
   * Installs the DPoP interceptors on an axios instance (called by `attachRefresh` before it installs its own):
   * a proof on every request the plugin attached a token to, nonces remembered, `use_dpop_nonce` answered.
   *
   * @param instance - the axios instance.
   * @param resend - how to send a request again (see {@link DpopResend}).
   * @returns a function that removes them.
   */
  install(instance: AxiosInstance, resend: DpopResend): () => void;
  /** Makes a fresh proof JWT. */
  proof(request: DpopProofRequest): Promise<string>;
  /**
   * Remembers a `DPoP-Nonce` response header for the URL's origin; anything but a non-empty string is ignored.
   *
   * @param url - the URL the response came from.
   * @param nonce - the header's value.
   */
  rememberNonce(url: string | URL, nonce: unknown): void;
}

/** What {@link TokenSession.logout} resolves with. */
export interface LogoutResult {
  /** Whether the server confirmed the revocation. False when there was nothing to revoke or no revocation endpoint. */
  readonly revoked: boolean;
  /** Why the revocation failed, when it did (the tokens are cleared all the same). */
  readonly error?: TokenRefreshError;
}
