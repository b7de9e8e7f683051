import { TokenRefreshError } from './errors.js';
import { SECONDS_THRESHOLD } from './tokens.js';
import type { TokenSet } from './tokens.js';
import { describe, describeSecret, expected, isNonEmptyString, printable } from './validate.js';

/**
 * The one place a token endpoint's success answer (RFC 6749 §5.1) becomes a {@link TokenSet}: `refreshTokenGrant`,
 * `clientCredentialsGrant` and `tokenSetFromResponse` all go through {@link parseTokenResponse}, so a login's first
 * tokens and every refresh follow the same rules.
 */

/** Options of {@link tokenSetFromResponse}. */
export interface TokenSetFromResponseOptions {
  /**
   * When the response was received (or, better, when its request was sent), in epoch milliseconds (`Date.now()`
   * units). `expires_in` counts from here, so take it right at the call, not when the tokens are used later. A finite
   * number >= 1e11 (March 1973): anything smaller is Unix seconds (`Date.now() / 1000`), refused with a `TypeError`.
   *
   * @default Date.now()
   */
  readonly receivedAt?: number;
}

/** What {@link parseTokenResponse} needs beside the body. @internal */
export interface ParseContext {
  /** Epoch ms `expires_in` counts from. */
  readonly receivedAt: number;
  /** Kept when the answer has no `refresh_token` (RFC 6749 §6: the old one stays valid). */
  readonly previousRefreshToken?: string | undefined;
  /** Starts the message of an unusable answer, e.g. `Token refresh got an unusable answer from … (HTTP 200)`. */
  readonly unusable: string;
  /** Starts the message of an unsupported token type, e.g. `Token refresh misconfigured: the token endpoint … issued`. */
  readonly issued: string;
  /** The HTTP status, when there was one. */
  readonly status?: number | undefined;
}

/**
 * Maps a token endpoint's answer (RFC 6749 §5.1) to a {@link TokenSet}, for the first tokens after a login (the
 * authorization code grant, a password or device grant, a login API): `expiresAt` is `receivedAt + expires_in`
 * seconds, `token_type` must be `Bearer` or `DPoP` (any case), `scope` and `id_token` become `scope` and `idToken`,
 * and every other member (e.g. `refresh_expires_in`) is kept in `extra`. The rules and errors are the ones
 * `refreshTokenGrant` applies to each refresh.
 *
 * The answer is the server's, so a problem with it is a {@link TokenRefreshError}, as in a refresh:
 * `INVALID_TOKEN_RESPONSE` (no usable `access_token`, a missing `token_type`, a bad `expires_in`, an RFC 6749 §5.2
 * error body, with `oauthError` set) or `CONFIGURATION_ERROR` (a `token_type` this package cannot send). A bad
 * `options` argument is a programming error: a `TypeError`. Messages never quote a token.
 *
 * @param data - the parsed JSON body, or its text.
 * @param options - see {@link TokenSetFromResponseOptions}.
 * @throws TokenRefreshError when the answer is not a usable token response.
 * @throws TypeError when `options` is invalid.
 *
 * @example
 * ```ts
 * const sentAt = Date.now();
 * const response = await axios.post('https://auth.example.com/oauth/token', body);
 * const tokens = tokenSetFromResponse(response.data, { receivedAt: sentAt });
 * ```
 */
export function tokenSetFromResponse(data: unknown, options: TokenSetFromResponseOptions = {}): TokenSet {
  if (typeof options !== 'object' || options === null) throw new TypeError(expected('options', 'an object', options));
  const receivedAt = options.receivedAt ?? Date.now();
  if (typeof receivedAt !== 'number' || !Number.isFinite(receivedAt) || receivedAt < 0) {
    throw new TypeError(expected('receivedAt', 'a finite number of epoch milliseconds (Date.now())', receivedAt));
  }
  if (receivedAt < SECONDS_THRESHOLD) {
    throw new TypeError(
      `${expected('receivedAt', 'epoch milliseconds (Date.now())', receivedAt)}, which looks like Unix seconds ` +
        '(multiply by 1000)',
    );
  }
  const unusable = 'tokenSetFromResponse was given an unusable token response';
  const json = parseJson(data);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const problem = json === undefined ? 'it is not JSON' : 'it is not a JSON object';
    throw new TokenRefreshError('INVALID_TOKEN_RESPONSE', `${unusable}: ${problem}`);
  }
  const body = json as Record<string, unknown>;
  const error = body['error'];
  if (typeof error === 'string' && error !== '' && body['access_token'] === undefined) {
    const description = body['error_description'];
    throw new TokenRefreshError(
      'INVALID_TOKEN_RESPONSE',
      `${unusable}: it is an error answer (RFC 6749 §5.2) with \`error\` \`${printable(error)}\``,
      {
        oauthError: printable(error),
        oauthErrorDescription: typeof description === 'string' ? printable(description) : undefined,
      },
    );
  }
  return parseTokenResponse(body, {
    receivedAt,
    unusable,
    issued: 'tokenSetFromResponse was given a token response with a token of type',
  });
}

/**
 * Checks a success answer's members and builds the {@link TokenSet}. @internal
 *
 * @param body - the answer, a JSON object.
 * @param context - see {@link ParseContext}.
 */
export function parseTokenResponse(body: Record<string, unknown>, context: ParseContext): TokenSet {
  const {
    access_token: accessToken,
    token_type: tokenType,
    expires_in: expiresIn,
    refresh_token: refreshToken,
    scope,
    id_token: idToken,
    ...extra
  } = body;
  const invalid = (problem: string): TokenRefreshError =>
    new TokenRefreshError('INVALID_TOKEN_RESPONSE', `${context.unusable}: ${problem}`, { status: context.status });
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw invalid(`\`access_token\` is ${describeMember(accessToken, true)}, expected a non-empty string`);
  }
  if (typeof tokenType !== 'string' || tokenType === '') {
    throw invalid(`\`token_type\` is ${describeMember(tokenType)} (required by RFC 6749 §5.1)`);
  }
  const lower = tokenType.toLowerCase();
  const scheme = lower === 'bearer' ? 'Bearer' : lower === 'dpop' ? 'DPoP' : undefined;
  if (scheme === undefined) {
    throw new TokenRefreshError(
      'CONFIGURATION_ERROR',
      `${context.issued} \`${printable(tokenType)}\`, which this package cannot send; only Bearer and DPoP are ` +
        'supported (check the token type configured for this client on the authorization server)',
      { status: context.status },
    );
  }
  const lifetimeMs = lifetime(expiresIn, context.receivedAt, invalid);
  if (refreshToken !== undefined && refreshToken !== null && typeof refreshToken !== 'string') {
    throw invalid(`\`refresh_token\` is ${describeMember(refreshToken, true)}, expected a string`);
  }
  if (idToken !== undefined && idToken !== null && typeof idToken !== 'string') {
    throw invalid(`\`id_token\` is ${describeMember(idToken, true)}, expected a string`);
  }
  const scopeText =
    typeof scope === 'string'
      ? scope
      : Array.isArray(scope) && scope.every((s) => typeof s === 'string')
        ? scope.join(' ')
        : scope === undefined || scope === null
          ? undefined
          : Number.NaN;
  if (typeof scopeText === 'number') throw invalid(`\`scope\` is ${describeMember(scope)}, expected a string`);

  const tokens: {
    accessToken: string;
    refreshToken?: string;
    tokenType: string;
    expiresAt?: number;
    scope?: string;
    idToken?: string;
    extra?: Readonly<Record<string, unknown>>;
  } = { accessToken, tokenType: scheme };
  // RFC 6749 §6: the server MAY issue a new refresh token; when it does not, the old one stays valid.
  const nextRefreshToken =
    typeof refreshToken === 'string' && refreshToken !== '' ? refreshToken : context.previousRefreshToken;
  if (nextRefreshToken !== undefined) tokens.refreshToken = nextRefreshToken;
  if (lifetimeMs !== undefined) tokens.expiresAt = context.receivedAt + lifetimeMs;
  if (scopeText !== undefined) tokens.scope = scopeText;
  if (typeof idToken === 'string' && idToken !== '') tokens.idToken = idToken;
  if (Object.keys(extra).length > 0) tokens.extra = Object.freeze(extra);
  return tokens;
}

/** The largest epoch ms a `Date` holds (ECMA-262 §21.4.1.22): an expiry beyond it is no date at all. */
const MAX_EPOCH_MS = 8.64e15;

/** `expires_in` in milliseconds; undefined when not said (absent, null or 0). */
function lifetime(
  expiresIn: unknown,
  receivedAt: number,
  invalid: (problem: string) => TokenRefreshError,
): number | undefined {
  if (expiresIn === undefined || expiresIn === null) return undefined;
  const seconds =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw invalid(`\`expires_in\` is ${describeMember(expiresIn)}, expected a number of seconds >= 0`);
  }
  // 1e308 seconds is a number, but `receivedAt + expires_in * 1000` would be Infinity: no TokenSet can hold it.
  if (receivedAt + seconds * 1000 > MAX_EPOCH_MS) {
    throw invalid(`\`expires_in\` is ${describeMember(expiresIn)}, which puts the expiry past any date`);
  }
  // 0 would mean "expired on arrival" and make every request refresh; servers that send it mean "not said".
  return seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * A JSON body as axios or `fetch` may hand it over: already parsed, or as text. @internal
 *
 * @param data - a parsed body or its text.
 */
export function parseJson(data: unknown): unknown {
  if (typeof data !== 'string') return data === undefined || data === null ? undefined : data;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A parsed body when it is a JSON object (an answer's members), else undefined. @internal
 *
 * @param json - what {@link parseJson} returned.
 */
export function jsonObject(json: unknown): Record<string, unknown> | undefined {
  return typeof json === 'object' && json !== null && !Array.isArray(json)
    ? (json as Record<string, unknown>)
    : undefined;
}

/**
 * Describes a member of an answer for a message, never quoting a string (it may be a token). @internal
 *
 * @param value - the member.
 * @param secret - a token member (`access_token`, `refresh_token`, `id_token`): described by type only, even a number.
 */
export function describeMember(value: unknown, secret = false): string {
  if (value === undefined) return 'missing';
  // Only `expires_in` may be a string of the wrong form; token members of the wrong type are never strings.
  if (isNonEmptyString(value)) return 'a string that is not a number';
  return secret ? describeSecret(value) : describe(value);
}
