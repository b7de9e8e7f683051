import { TokenRefreshError } from './errors.js';
import { describe, describeSecret } from './validate.js';

/** The members of a {@link TokenSet}; a TokenSet has at least one of the two tokens. */
export interface TokenSetMembers {
  /** The access token sent as `Authorization: <tokenType> <accessToken>`. Missing: the next request refreshes first. */
  readonly accessToken?: string;
  /**
   * The refresh token handed to `refresh`. Missing: a refresh ends the session (unless `refreshTokenRequired: false`).
   */
  readonly refreshToken?: string;
  /**
   * When the access token expires, in epoch milliseconds (`Date.now()` units, not Unix seconds). Missing: decoded from
   * the access token's JWT `exp` when it is a JWT, else unknown (the plugin then relies on 401s).
   */
  readonly expiresAt?: number;
  /** The authorization scheme. @default 'Bearer' */
  readonly tokenType?: string;
  /** Space-separated scopes granted, when the server said. */
  readonly scope?: string;
  /** The OpenID Connect ID token, when the server sent one. */
  readonly idToken?: string;
  /** Anything else the token endpoint returned (e.g. `refresh_expires_in`), kept for `onTokens`. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * The tokens of one login, in the shape the whole package speaks (the OAuth wire format stays in `refreshTokenGrant`).
 * It has an access token, a refresh token, or both: `{}` does not compile (and is rejected at run time).
 *
 * @example
 * ```ts
 * const tokens: TokenSet = { accessToken: 'eyJ…', refreshToken: 'r1', expiresAt: Date.now() + 300_000 };
 * ```
 */
export type TokenSet = TokenSetMembers & ({ readonly accessToken: string } | { readonly refreshToken: string });

/**
 * The new refresh token inside an answer a grant refused (a missing `token_type`, a bad `expires_in`…), by the error
 * it threw: the server rotated, so the old refresh token is spent, and the session keeps the new one. A WeakMap, so
 * that the token is never on the error the app sees. @internal
 */
export const rotatedIn = new WeakMap<object, string>();

/** Below this, an `expiresAt` is surely Unix seconds, not epoch milliseconds (1e11 ms is 1973; 1e11 s is year 5138). */
export const SECONDS_THRESHOLD = 1e11;

/**
 * Below this, an `expiresAt` is not a point in time at all, in seconds (1e9 s is 2001) or milliseconds: a lifetime
 * (`expires_in`, in seconds or milliseconds).
 */
const LIFETIME_THRESHOLD = 1e9;

/**
 * Checks a value given as tokens by the app (the `tokens` option, `setTokens`) and returns it as a TokenSet, with
 * `expiresAt` decoded from a JWT access token when missing. Throws a `TypeError` naming the problem.
 *
 * @param value - what the app passed.
 * @param where - the option or method name, for the message.
 */
export function checkTokenInput(value: unknown, where: string): TokenSet | null {
  if (value === null || value === undefined) return null;
  const problem = tokenSetProblem(value);
  if (problem) throw new TypeError(`Expected \`${where}\` to be a TokenSet or null: ${problem}`);
  return withDecodedExpiry(value as TokenSet);
}

/**
 * Checks what a `refresh` function returned and merges it over the previous tokens: the previous refresh token is
 * kept when none is returned (RFC 6749 §6: the server MAY rotate). Throws `INVALID_TOKEN_RESPONSE` when there is no
 * usable access token.
 *
 * @param value - what `refresh` resolved with.
 * @param previous - the tokens the refresh started from.
 */
export function normalizeRefreshResult(value: unknown, previous: TokenSet | null): TokenSet {
  const problem =
    typeof value !== 'object' || value === null
      ? `it resolved with ${describe(value)}`
      : (value as TokenSet).accessToken === undefined && 'access_token' in value
        ? '`accessToken` is `undefined`, but `access_token` is there: map the token endpoint’s answer to a TokenSet ' +
          '(accessToken, refreshToken, expiresAt in epoch ms), or use refreshTokenGrant'
        : typeof (value as TokenSet).accessToken !== 'string' || (value as TokenSet).accessToken === ''
          ? `\`accessToken\` is ${describeSecret((value as TokenSet).accessToken)}, expected a non-empty string`
          : tokenSetProblem(value);
  if (problem) {
    throw new TokenRefreshError('INVALID_TOKEN_RESPONSE', `Token refresh returned no usable tokens: ${problem}`);
  }
  const result = value as TokenSet;
  const merged =
    result.refreshToken === undefined && previous?.refreshToken !== undefined
      ? { ...result, refreshToken: previous.refreshToken }
      : result;
  return withDecodedExpiry(merged);
}

/**
 * The refresh token in what a `refresh` answered, even when the answer was refused: a `TokenSet`'s, or the token
 * endpoint's own (`refresh_token`, when the function returned the server's answer unmapped). The server rotated it, so
 * the one presented is spent.
 *
 * @param answer - what `refresh` resolved with.
 */
export function refreshTokenIn(answer: unknown): unknown {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const { refreshToken, refresh_token } = answer as { refreshToken?: unknown; refresh_token?: unknown };
  return refreshToken ?? refresh_token;
}

/**
 * What is wrong with a value offered as a {@link TokenSet}, or undefined when it is one.
 *
 * @param value - anything.
 */
export function tokenSetProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `got ${describe(value)}`;
  const tokens = value as Record<string, unknown>;
  const problem = stringsProblem(tokens) ?? expiryProblem(tokens['expiresAt']);
  if (problem === undefined && tokens['accessToken'] === undefined && tokens['refreshToken'] === undefined) {
    return 'it has neither `accessToken` nor `refreshToken`';
  }
  return problem;
}

function stringsProblem(tokens: Record<string, unknown>): string | undefined {
  for (const key of ['accessToken', 'refreshToken', 'tokenType', 'scope', 'idToken'] as const) {
    const member = tokens[key];
    if (member !== undefined && typeof member !== 'string') {
      // A token of the wrong type is still a token: described by its type only, never its value.
      const what = key.endsWith('Token') ? describeSecret(member) : describe(member);
      return `\`${key}\` must be a string, got ${what}`;
    }
  }
  return undefined;
}

function expiryProblem(expiresAt: unknown): string | undefined {
  if (expiresAt === undefined) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    return `\`expiresAt\` must be a finite number of epoch milliseconds, got ${describe(expiresAt)}`;
  }
  if (expiresAt > 0 && expiresAt < LIFETIME_THRESHOLD) {
    return (
      `\`expiresAt\` (${expiresAt}) is a lifetime, not a point in time: it must be epoch milliseconds ` +
      '(Date.now() + expires_in * 1000)'
    );
  }
  if (expiresAt > 0 && expiresAt < SECONDS_THRESHOLD) {
    return `\`expiresAt\` (${expiresAt}) looks like Unix seconds; it must be epoch milliseconds (multiply by 1000)`;
  }
  return undefined;
}

function withDecodedExpiry(tokens: TokenSet): TokenSet {
  if (tokens.expiresAt !== undefined || tokens.accessToken === undefined) return tokens;
  const exp = jwtExpiry(tokens.accessToken);
  return exp === undefined ? tokens : { ...tokens, expiresAt: exp };
}

/** The largest `exp` a `Date` holds (8.64e15 ms, ECMA-262 §21.4.1.22), in seconds. */
const MAX_EXP_SECONDS = 8.64e12;

/**
 * The `exp` claim of a JWT, in epoch milliseconds, or undefined when the token is not a JWT or has no numeric `exp`.
 * Nothing is verified: the value only decides when to refresh early.
 *
 * @param token - an access token.
 */
function jwtExpiry(token: string): number | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 1 || second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  try {
    const base64 = token
      .slice(first + 1, second)
      .replace(/-/g, '+')
      .replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(base64), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    );
    const claims: unknown = JSON.parse(json);
    const exp = (claims as { exp?: unknown } | null)?.exp;
    // An `exp` past any date (1e308) is no expiry: as epoch ms it would be Infinity, which no store can hold.
    return typeof exp === 'number' && Math.abs(exp) <= MAX_EXP_SECONDS ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
