import { TokenRefreshError } from './errors.js';
import { SECONDS_THRESHOLD } from './tokens.js';
import type { TokenSet, TokenSetMembers } from './tokens.js';
import {
  checkObject,
  checkOptions,
  describe,
  describeSecret,
  expected,
  isNonEmptyString,
  isNumberFrom,
  printable,
} from './validate.js';

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
  /**
   * Starts the message of an unsupported token type, e.g. `Token refresh misconfigured: the token endpoint … issued`.
   */
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
  checkObject(options);
  const receivedAt = options.receivedAt ?? Date.now();
  checkOptions({ receivedAt }, [['receivedAt', 'a finite number of epoch milliseconds (Date.now())', isNumberFrom(0)]]);
  if (receivedAt < SECONDS_THRESHOLD) {
    throw new TypeError(
      `${expected('receivedAt', 'epoch milliseconds (Date.now())', receivedAt)}, which looks like Unix seconds ` +
        '(multiply by 1000)',
    );
  }
  const unusable = 'tokenSetFromResponse was given an unusable token response';
  const json = parseJson(data);
  const body = jsonObject(json);
  const error = body?.['error'];
  if (isNonEmptyString(error) && body?.['access_token'] === undefined) {
    const description = body?.['error_description'];
    throw new TokenRefreshError(
      'INVALID_TOKEN_RESPONSE',
      `${unusable}: it is an error answer (RFC 6749 §5.2) with \`error\` \`${printable(error)}\``,
      {
        oauthError: printable(error),
        oauthErrorDescription: typeof description === 'string' ? printable(description) : undefined,
      },
    );
  }
  return parseTokenResponse(json, {
    receivedAt,
    unusable,
    issued: 'tokenSetFromResponse was given a token response with a token of type',
  });
}

/** The members that hold a token: described by their type alone, even when of the wrong type. */
const TOKEN_MEMBERS = ['access_token', 'refresh_token', 'id_token'];

/** The members a {@link TokenSet} has a place for; any other goes into `extra`. */
const RFC_MEMBERS = [...TOKEN_MEMBERS, 'token_type', 'expires_in', 'scope'];

/** Makes the error for a member that breaks RFC 6749 §5.1: ``… unusable …: `member` is <description><problem>``. */
type Invalid = (member: string, problem: string) => TokenRefreshError;

/**
 * Checks a success answer's members and builds the {@link TokenSet}. @internal
 *
 * @param json - the parsed answer (see {@link parseJson}); anything but a JSON object is unusable.
 * @param context - see {@link ParseContext}.
 */
export function parseTokenResponse(json: unknown, context: ParseContext): TokenSet {
  const body = jsonObject(json);
  if (body === undefined) {
    const problem = json === undefined ? 'the answer is not JSON' : 'the answer is not a JSON object';
    throw new TokenRefreshError('INVALID_TOKEN_RESPONSE', `${context.unusable}: ${problem}`, {
      status: context.status,
    });
  }
  const invalid: Invalid = (member, problem) =>
    new TokenRefreshError(
      'INVALID_TOKEN_RESPONSE',
      `${context.unusable}: \`${member}\` is ${describeMember(body[member], TOKEN_MEMBERS.includes(member))}${problem}`,
      { status: context.status },
    );
  const { access_token: accessToken, token_type: tokenType } = body;
  if (!isNonEmptyString(accessToken)) throw invalid('access_token', ', expected a non-empty string');
  if (!isNonEmptyString(tokenType)) throw invalid('token_type', ' (required by RFC 6749 §5.1)');
  const scheme = schemeOf(tokenType, context);
  const lifetimeMs = lifetime(body['expires_in'], context.receivedAt, invalid);
  for (const member of ['refresh_token', 'id_token']) {
    const value = body[member];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw invalid(member, ', expected a string');
    }
  }
  return tokenSet(body, scheme, lifetimeMs, scopeOf(body['scope'], invalid), context);
}

/** The `token_type` as this package spells it; one it cannot send is the client's set-up, not a bad answer. */
function schemeOf(tokenType: string, context: ParseContext): 'Bearer' | 'DPoP' {
  const lower = tokenType.toLowerCase();
  if (lower === 'bearer') return 'Bearer';
  if (lower === 'dpop') return 'DPoP';
  throw new TokenRefreshError(
    'CONFIGURATION_ERROR',
    `${context.issued} \`${printable(tokenType)}\`, which this package cannot send; only Bearer and DPoP are ` +
      'supported (check the token type configured for this client on the authorization server)',
    { status: context.status },
  );
}

/** `scope` as one space-separated string (some servers send a list); undefined when not said. */
function scopeOf(scope: unknown, invalid: Invalid): string | undefined {
  if (scope === undefined || scope === null || typeof scope === 'string') return scope ?? undefined;
  if (Array.isArray(scope) && scope.every((name) => typeof name === 'string')) return scope.join(' ');
  throw invalid('scope', ', expected a string');
}

/** The checked members as a {@link TokenSet}; every other member is kept in `extra`. */
function tokenSet(
  body: Record<string, unknown>,
  tokenType: 'Bearer' | 'DPoP',
  lifetimeMs: number | undefined,
  scope: string | undefined,
  context: ParseContext,
): TokenSet {
  const { access_token: accessToken, refresh_token: refreshToken, id_token: idToken } = body;
  const extra = Object.fromEntries(Object.entries(body).filter(([member]) => !RFC_MEMBERS.includes(member)));
  const tokens: { -readonly [K in keyof TokenSetMembers]: TokenSetMembers[K] } = {
    accessToken: accessToken as string,
    tokenType,
  };
  // RFC 6749 §6: the server MAY issue a new refresh token; when it does not, the old one stays valid.
  const nextRefreshToken = isNonEmptyString(refreshToken) ? refreshToken : context.previousRefreshToken;
  if (nextRefreshToken !== undefined) tokens.refreshToken = nextRefreshToken;
  if (lifetimeMs !== undefined) tokens.expiresAt = context.receivedAt + lifetimeMs;
  if (scope !== undefined) tokens.scope = scope;
  if (isNonEmptyString(idToken)) tokens.idToken = idToken;
  if (Object.keys(extra).length > 0) tokens.extra = Object.freeze(extra);
  return tokens as TokenSet;
}

/** The largest epoch ms a `Date` holds (ECMA-262 §21.4.1.22): an expiry beyond it is no date at all. */
const MAX_EPOCH_MS = 8.64e15;

/** `expires_in` in milliseconds; undefined when not said (absent, null or 0). */
function lifetime(expiresIn: unknown, receivedAt: number, invalid: Invalid): number | undefined {
  if (expiresIn === undefined || expiresIn === null) return undefined;
  const seconds =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw invalid('expires_in', ', expected a number of seconds >= 0');
  }
  // 1e308 seconds is a number, but `receivedAt + expires_in * 1000` would be Infinity: no TokenSet can hold it.
  if (receivedAt + seconds * 1000 > MAX_EPOCH_MS) {
    throw invalid('expires_in', ', which puts the expiry past any date');
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
function describeMember(value: unknown, secret = false): string {
  if (value === undefined) return 'missing';
  // Only `expires_in` may be a string of the wrong form; token members of the wrong type are never strings.
  if (isNonEmptyString(value)) return 'a string that is not a number';
  return secret ? describeSecret(value) : describe(value);
}
