import type { InternalAxiosRequestConfig } from 'axios';

/**
 * Every `code` a {@link TokenRefreshError} can carry. Stable across minor versions: `switch (error.code)` narrows.
 *
 * - `SESSION_EXPIRED`: refused for good (the refresh call answered HTTP 400 or 401, OAuth `invalid_grant`, or there is
 *   no refresh token). Tokens are cleared, `onTokens(null)` runs and `sessionExpired` fires once.
 * - `REFRESH_FAILED`: may pass (network error, 5xx, 429, transport timeout, anything unclassified). Tokens are kept; a
 *   later request tries again.
 * - `REFRESH_TIMEOUT`: the refresh did not settle within `refreshTimeoutMs`. Tokens are kept.
 * - `INVALID_TOKEN_RESPONSE`: the refresh returned no usable access token. Tokens are kept.
 * - `CONFIGURATION_ERROR`: the token endpoint says the client is set up wrong (`invalid_client`, `unauthorized_client`,
 *   `unsupported_grant_type`, `invalid_scope`, `invalid_request`, or an unsupported `token_type`). Tokens are kept;
 *   fix the client options.
 * - `PERSIST_FAILED`: `onTokens` threw or did not settle in time. The new tokens are in use all the same (the old
 *   refresh token is already spent); this reports the failure.
 * - `TOKENS_LOAD_FAILED`: the `tokens` loader function threw or did not settle in time. The next request loads again.
 * - `REQUEST_NOT_REPLAYABLE`: a request that needs a replay has a one-shot body (a stream) that cannot be sent twice.
 * - `STORE_FAILED`: the token store failed or did not answer in time (Redis down or silent, an unreadable file).
 *   Tokens are kept; a later request tries again.
 * - `LOGGED_OUT`: the app logged out (`logout()`, here or in another tab or process) while the request waited for a
 *   refresh. Tokens are cleared.
 */
export type TokenRefreshErrorCode =
  | 'SESSION_EXPIRED'
  | 'REFRESH_FAILED'
  | 'REFRESH_TIMEOUT'
  | 'INVALID_TOKEN_RESPONSE'
  | 'CONFIGURATION_ERROR'
  | 'PERSIST_FAILED'
  | 'TOKENS_LOAD_FAILED'
  | 'REQUEST_NOT_REPLAYABLE'
  | 'STORE_FAILED'
  | 'LOGGED_OUT';

/** What a {@link TokenRefreshError} can be built from, beside its code and message. */
export interface TokenRefreshErrorOptions {
  /** The underlying error (an AxiosError, a network error, what `refresh` threw). */
  readonly cause?: unknown;
  /** The HTTP status the refresh call answered, when it answered. */
  readonly status?: number | undefined;
  /** The OAuth 2.0 `error` member of the token endpoint's answer (RFC 6749 §5.2), e.g. `invalid_grant`. */
  readonly oauthError?: string | undefined;
  /** The OAuth 2.0 `error_description` member, when the server sent one. */
  readonly oauthErrorDescription?: string | undefined;
  /** The OAuth 2.0 `error_uri` member, when the server sent one. */
  readonly oauthErrorUri?: string | undefined;
  /** How long the server asked us to wait (HTTP 429/503 `Retry-After`), in milliseconds. */
  readonly retryAfterMs?: number | undefined;
  /** The request this error rejects, with its Authorization header redacted. */
  readonly config?: InternalAxiosRequestConfig | undefined;
}

const NAME = 'TokenRefreshError';

/**
 * The one error class of this package. Its `code` says what happened and what state the tokens are in; `cause` holds
 * the underlying error. Messages and `toJSON()` never contain a token or a client secret.
 *
 * @example
 * ```ts
 * try {
 *   await api.get('/me');
 * } catch (error) {
 *   if (isTokenRefreshError(error) && error.code === 'SESSION_EXPIRED') showLogin();
 * }
 * ```
 */
export class TokenRefreshError extends Error {
  override readonly name = NAME;
  // The members below are `declare`d: the constructor assigns every one, in this order, so class fields would only
  // repeat them in the bundle.
  /** Stable code; see {@link TokenRefreshErrorCode}. */
  declare readonly code: TokenRefreshErrorCode;
  /** HTTP status of the refresh call, when it answered. */
  declare readonly status: number | undefined;
  /** OAuth 2.0 `error` from the token endpoint, e.g. `invalid_grant`. */
  declare readonly oauthError: string | undefined;
  /** OAuth 2.0 `error_description` from the token endpoint. */
  declare readonly oauthErrorDescription: string | undefined;
  /** OAuth 2.0 `error_uri` from the token endpoint. */
  declare readonly oauthErrorUri: string | undefined;
  /** Server-requested wait before trying again, in milliseconds (from `Retry-After`). */
  declare readonly retryAfterMs: number | undefined;
  /**
   * The axios request this error rejected (Authorization redacted), so a handler can tell which request it was.
   * Undefined on the error given to `refreshError`/`sessionExpired` listeners and to `refresh()` callers.
   */
  declare readonly config: InternalAxiosRequestConfig | undefined;

  /**
   * @param code - what happened; see {@link TokenRefreshErrorCode}.
   * @param message - what failed and where; never include a token or secret.
   * @param options - cause, HTTP/OAuth details and the request config.
   */
  constructor(code: TokenRefreshErrorCode, message: string, options: TokenRefreshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.oauthError = options.oauthError;
    this.oauthErrorDescription = options.oauthErrorDescription;
    this.oauthErrorUri = options.oauthErrorUri;
    this.retryAfterMs = options.retryAfterMs;
    this.config = options.config;
  }

  /**
   * A copy of this error for one request: same code, message and cause, with `config` set to that request.
   *
   * @param config - the request the copy rejects.
   */
  forRequest(config: InternalAxiosRequestConfig): TokenRefreshError {
    // Its own enumerable members are the options it was built from (status, the OAuth members, retryAfterMs); the
    // message and the cause are not enumerable.
    return new TokenRefreshError(this.code, this.message, { ...this, cause: this.cause, config });
  }

  /** A plain object for logs: code, message, status and OAuth error. No config, no cause, no token. */
  toJSON(): TokenRefreshErrorJSON {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      oauthError: this.oauthError,
      oauthErrorDescription: this.oauthErrorDescription,
    };
  }
}

/** What {@link TokenRefreshError.toJSON} returns. */
export interface TokenRefreshErrorJSON {
  readonly name: 'TokenRefreshError';
  readonly code: TokenRefreshErrorCode;
  readonly message: string;
  readonly status: number | undefined;
  readonly oauthError: string | undefined;
  readonly oauthErrorDescription: string | undefined;
}

/**
 * Marks the class across copies of the package: a symbol from the global registry on the prototype, so that
 * {@link isTokenRefreshError} recognises an error from another copy without an own field on every instance.
 * @internal
 */
export const MARK = Symbol.for('axios-token-refresh.TokenRefreshError');
Object.defineProperty(TokenRefreshError.prototype, MARK, { value: true });
/**
 * `instanceof TokenRefreshError` holds for an error of another copy of this package too: each CommonJS entry point
 * (`axios-token-refresh/file`, `/redis`…) carries its own copy of the class. A subclass an app makes keeps the plain
 * prototype check.
 */
Object.defineProperty(TokenRefreshError, Symbol.hasInstance, {
  value(this: object, value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || (this === TokenRefreshError && marked(value));
  },
});

/**
 * True when `value` is a {@link TokenRefreshError}, also one thrown by another copy of this package (it checks a
 * marker on the class, not only `instanceof`).
 *
 * @param value - anything caught.
 */
export function isTokenRefreshError(value: unknown): value is TokenRefreshError {
  return value instanceof TokenRefreshError;
}

/** Whether `value` is an error of this class from any copy of the package (see {@link MARK}). */
function marked(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[MARK] === true &&
    (value as { name?: unknown }).name === NAME
  );
}

interface AxiosErrorLike {
  readonly isAxiosError?: boolean;
  readonly code?: string;
  readonly response?: { readonly status?: number; readonly headers?: unknown };
}

/** Parses an HTTP `Retry-After` value (seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Reads a response header from AxiosHeaders or a plain object (lower-case names), whichever axios gave. */
export function headerValue(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    const value: unknown = (get as (n: string) => unknown).call(headers, name);
    if (value !== undefined && value !== null) return value;
  }
  return (headers as Record<string, unknown>)[name.toLowerCase()];
}

/**
 * Turns whatever a `refresh` function threw into a {@link TokenRefreshError}: a TokenRefreshError passes through;
 * an HTTP 400 or 401 answer means the grant is refused for good (`SESSION_EXPIRED`); anything else may pass
 * (`REFRESH_FAILED`).
 *
 * @param error - what `refresh` threw.
 */
export function classifyRefreshFailure(error: unknown): TokenRefreshError {
  if (isTokenRefreshError(error)) return error;
  const axiosError = (typeof error === 'object' && error !== null ? error : {}) as AxiosErrorLike;
  const answered = axiosError.response?.status;
  const status = Number.isInteger(answered) ? (answered as number) : undefined;
  if (status === 400 || status === 401) {
    return new TokenRefreshError('SESSION_EXPIRED', `Token refresh refused: the refresh call answered HTTP ${status}`, {
      cause: error,
      status,
    });
  }
  const code = typeof axiosError.code === 'string' ? ` (${axiosError.code})` : '';
  let what: string;
  let retryAfterMs: number | undefined;
  if (status === undefined) {
    what = axiosError.isAxiosError
      ? `the refresh call got no answer${code}`
      : `the refresh function threw ${describeThrown(error)}`;
  } else if (status >= 200 && status < 300) {
    // The connection broke while the body arrived: a success status is not a success here, and saying "answered
    // HTTP 200" would read as one.
    what = `the refresh call's answer (HTTP ${status}) did not arrive whole${code}`;
  } else {
    what = `the refresh call answered HTTP ${status}`;
    retryAfterMs = parseRetryAfter(headerValue(axiosError.response?.headers, 'retry-after'));
  }
  return new TokenRefreshError('REFRESH_FAILED', `Token refresh failed: ${what}`, {
    cause: error,
    status,
    retryAfterMs,
  });
}

/** Names what was thrown (its class or type), never its message, which may quote a token. */
export function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name = typeof error.name === 'string' ? error.name : 'Error';
      return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
    }
  } catch {
    // A revoked Proxy, a `name` getter that throws: nothing to name, and describing must not throw.
    return 'a value that cannot be read';
  }
  return error === null ? 'null' : `a value of type ${typeof error}`;
}
