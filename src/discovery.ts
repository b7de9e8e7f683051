import type { AxiosInstance } from 'axios';
import { TokenRefreshError } from './errors.js';
import {
  checkEndpointUrl,
  deadlineSignal,
  isAxiosInstance,
  isBusy,
  isSuccess,
  lazyClient,
  parseUrl,
  requestError,
  send,
  tooSlow,
  untilAborted,
} from './oauth-http.js';
import type { Deadline, Endpoint } from './oauth-http.js';
import { jsonObject, parseJson } from './token-response.js';
import { checkObject, checkOptions, isBoolean, isNumberFrom, printable, withDefaults } from './validate.js';

/**
 * An authorization server's metadata (RFC 8414 §2, OpenID Connect Discovery §3), as published. {@link discover}
 * checks `issuer`, `token_endpoint` (required) and `revocation_endpoint` (when not absent or `null`) under the https
 * rule; a grant checks `revocation_endpoint` only when it revokes, so a bad one never stops a refresh.
 */
export interface AuthorizationServerMetadata {
  /** The issuer identifier; the same URL as the one asked for (see {@link discover}). */
  readonly issuer: string;
  /** The token endpoint. */
  readonly token_endpoint?: string;
  /** The revocation endpoint (RFC 7009), when the server has one. */
  readonly revocation_endpoint?: string;
  /** The introspection endpoint (RFC 7662), when the server has one. */
  readonly introspection_endpoint?: string;
  /** The authorization endpoint, for a login. */
  readonly authorization_endpoint?: string;
  /** Everything else the server publishes. */
  readonly [member: string]: unknown;
}

/** Options of {@link discover}. */
export interface DiscoveryOptions {
  /**
   * The axios instance that fetches the metadata.
   *
   * @default a fresh `axios.create()`
   */
  readonly axios?: AxiosInstance;
  /**
   * How long the whole discovery may take (both locations, from the first byte sent to the last byte read), in
   * milliseconds. A finite number > 0.
   *
   * @default 10_000
   */
  readonly timeoutMs?: number;
  /**
   * Allows a plain `http:` issuer (and endpoints) on a non-loopback host: only for a development network.
   *
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
}

/** A configured issuer: its text for messages, and its parsed URL (whose `href` the metadata's `issuer` must match). */
export interface Issuer extends Endpoint {
  readonly text: string;
}

/**
 * The grant's discovery: the endpoints, fetched once for every caller; a caller's `deadline` (its timeoutMs and abort)
 * lets it leave early without cancelling the fetch for the others. @internal
 */
export type Discovered = (deadline?: Deadline) => Promise<DiscoveredEndpoints>;

/** The endpoints a grant takes from the metadata. @internal */
export interface DiscoveredEndpoints {
  readonly token: Endpoint;
  /** The error when the metadata names one that breaks the https rule (thrown by the revocation, not the refresh). */
  readonly revocation: Endpoint | Error | undefined;
}

/** `discover`'s defaults, merged once. */
const DISCOVERY_DEFAULTS = { timeoutMs: 10_000, allowInsecureHttp: false };

/**
 * Fetches and checks an authorization server's metadata. It asks the RFC 8414 §3 location first
 * (`/.well-known/oauth-authorization-server` inserted between the host and the issuer's path), then, when that answers
 * 3xx, 4xx or not a JSON object, the OpenID Connect Discovery location (`/.well-known/openid-configuration` appended to
 * the issuer). Redirects are never followed (a hop to plain `http:` would hand the metadata, and so the token endpoint,
 * to whoever sits on the path); a body over 1 MiB is refused. The document's `issuer` must be the same URL as `issuer`
 * (compared as parsed URLs, the way oauth4webapi does: `https://auth.example.com` and `https://auth.example.com/` are
 * one issuer, `…/realms/acme` and `…/realms/acme/` are two), or it is refused (a mix-up defence, RFC 8414 §3.3).
 *
 * Failures are {@link TokenRefreshError}s: a network error, a timeout or a 5xx is `REFRESH_FAILED` (may pass); no
 * metadata at either location, a different `issuer`, or an endpoint that breaks the https rule is
 * `CONFIGURATION_ERROR`.
 *
 * @param issuer - the issuer identifier, e.g. `https://auth.example.com` or `https://auth.example.com/realms/acme`.
 * @param options - see {@link DiscoveryOptions}.
 * @throws TypeError when `issuer` or an option is invalid.
 *
 * @example
 * ```ts
 * const metadata = await discover('https://auth.example.com');
 * console.log(metadata.authorization_endpoint);
 * ```
 */
export async function discover(
  issuer: string | URL,
  options: DiscoveryOptions = {},
): Promise<AuthorizationServerMetadata> {
  checkObject(options);
  const given = checkOptions(options, [
    ['axios', 'an axios instance', isAxiosInstance],
    ['timeoutMs', 'a finite number > 0', isNumberFrom(0, true)],
    ['allowInsecureHttp', 'a boolean', isBoolean],
  ]);
  const { axios, timeoutMs, allowInsecureHttp } = withDefaults(DISCOVERY_DEFAULTS, given);
  return fetchMetadata(checkIssuer(issuer, allowInsecureHttp), lazyClient(axios)(), timeoutMs, allowInsecureHttp, true);
}

/**
 * Checks an `issuer` option: the https/loopback rule, and no query or fragment (RFC 8414 §2). @internal
 *
 * @param issuer - the option.
 * @param allowInsecureHttp - the grant's option.
 * @throws TypeError naming the problem.
 */
export function checkIssuer(issuer: unknown, allowInsecureHttp: boolean): Issuer {
  const endpoint = checkEndpointUrl('issuer', issuer, allowInsecureHttp);
  if (endpoint.url.search !== '' || endpoint.url.hash !== '') {
    throw new TypeError('Expected `issuer` to have no query or fragment (RFC 8414 §2)');
  }
  return { ...endpoint, text: typeof issuer === 'string' ? issuer : endpoint.url.href };
}

/**
 * The grant's discovery: one fetch however many callers ask at once, the answer kept, a failure forgotten so the next
 * call fetches again. @internal
 *
 * @param issuer - the checked issuer.
 * @param client - the axios instance to use, created on first use.
 * @param timeoutMs - the grant's timeout.
 * @param allowInsecureHttp - the grant's option.
 */
export function discoveredEndpoints(
  issuer: Issuer,
  client: () => AxiosInstance,
  timeoutMs: number,
  allowInsecureHttp: boolean,
): Discovered {
  let pending: Promise<DiscoveredEndpoints> | undefined;
  return (deadline) => {
    // The fetch is bounded by its own deadline (timeoutMs), so a stuck server frees `pending` for the next caller.
    const fetching =
      pending ??
      fetchMetadata(issuer, client(), timeoutMs, allowInsecureHttp)
        .then((metadata) => endpointsOf(metadata, issuer, allowInsecureHttp))
        .catch((error: unknown) => {
          if (pending === fetching) pending = undefined;
          throw error;
        });
    pending = fetching;
    if (deadline === undefined) return fetching;
    // One caller's abort must not cancel the fetch the others wait on: it only stops waiting.
    return untilAborted(fetching, deadline.signal, () => {
      if (!deadline.timedOut()) {
        return new TokenRefreshError(
          'REFRESH_FAILED',
          `Discovery failed: the call was aborted while the metadata of the issuer ${issuer.where} was being fetched`,
        );
      }
      // Out of time waiting: the next call starts afresh rather than join a fetch that is as late (it ends alone).
      if (pending === fetching) pending = undefined;
      return slow(issuer, timeoutMs);
    });
  };
}

function endpointsOf(
  metadata: AuthorizationServerMetadata,
  issuer: Issuer,
  allowInsecureHttp: boolean,
): DiscoveredEndpoints {
  const unusable = (problem: string): Error =>
    new TokenRefreshError(
      'CONFIGURATION_ERROR',
      `Discovery misconfigured: the metadata of the issuer ${issuer.where} is unusable: ${problem}`,
    );
  const endpoint = (name: string, value: unknown): Endpoint =>
    checkEndpointUrl(name, value, allowInsecureHttp, unusable);
  const token = endpoint('token_endpoint', metadata.token_endpoint);
  // Only a logout uses it: a bad one fails the revocation, never a refresh. `null` is how some servers say "none".
  let revocation: Endpoint | Error | undefined;
  try {
    const published = metadata.revocation_endpoint;
    revocation = published === undefined || published === null ? undefined : endpoint('revocation_endpoint', published);
  } catch (error) {
    revocation = error as Error;
  }
  return { token, revocation };
}

/** RFC 8414 §3 first, OpenID Connect Discovery second. */
function locations(issuer: Issuer): string[] {
  const { origin, pathname } = issuer.url;
  const path = pathname === '/' ? '' : pathname.replace(/\/$/, '');
  return [
    `${origin}/.well-known/oauth-authorization-server${path}`,
    `${origin}${path}/.well-known/openid-configuration`,
  ];
}

async function fetchMetadata(
  issuer: Issuer,
  client: AxiosInstance,
  timeoutMs: number,
  allowInsecureHttp: boolean,
  strict = false,
): Promise<AuthorizationServerMetadata> {
  const deadline = deadlineSignal(undefined, timeoutMs);
  try {
    const misses: string[] = [];
    for (const location of locations(issuer)) {
      const { status, data } = await getMetadata(client, location, deadline, issuer, timeoutMs);
      if (isBusy(status)) {
        throw new TokenRefreshError('REFRESH_FAILED', `Discovery failed: ${location} answered HTTP ${status}`, {
          status,
        });
      }
      const json = isSuccess(status) ? jsonObject(parseJson(data)) : undefined;
      if (json === undefined) {
        const why = isSuccess(status) ? ', not a JSON object' : status < 400 ? ', a redirect, not followed' : '';
        misses.push(`${location} (HTTP ${status}${why})`);
        continue;
      }
      checkPublishedIssuer(json['issuer'], issuer, location);
      // The endpoints are checked here too, so `discover` never hands out an insecure one.
      const { revocation } = endpointsOf(json as AuthorizationServerMetadata, issuer, allowInsecureHttp);
      if (strict && revocation instanceof Error) throw revocation;
      return json as AuthorizationServerMetadata;
    }
    throw new TokenRefreshError(
      'CONFIGURATION_ERROR',
      `Discovery misconfigured: no authorization server metadata at ${misses.join(' or ')}; check \`issuer\`, or set ` +
        '`tokenUrl` (and `revocationUrl`) instead',
    );
  } finally {
    deadline.clear();
  }
}

/** One GET of a metadata location, within the discovery's deadline, no redirect followed. */
async function getMetadata(
  client: AxiosInstance,
  location: string,
  deadline: Deadline,
  issuer: Issuer,
  timeoutMs: number,
): Promise<{ status: number; data: unknown }> {
  try {
    // A redirect, above all one from https: to http:, would let the next hop choose the token endpoint: not followed.
    return await send(client, 'GET', location, { Accept: 'application/json' }, deadline.signal);
  } catch (error) {
    throw requestError(error, deadline, 'Discovery failed', location, (cause) => slow(issuer, timeoutMs, cause));
  }
}

/** RFC 8414 §3.3, compared as parsed URLs (as oauth4webapi does), so `https://a.example` is `https://a.example/`. */
function checkPublishedIssuer(published: unknown, issuer: Issuer, location: string): void {
  if (typeof published === 'string' && parseUrl(published)?.href === issuer.url.href) return;
  throw new TokenRefreshError(
    'CONFIGURATION_ERROR',
    `Discovery misconfigured: the metadata at ${location} names the issuer ` +
      `${typeof published === 'string' ? `\`${printable(published)}\`` : 'nothing'}, ` +
      `not \`${printable(issuer.text)}\` (RFC 8414 §3.3); ` +
      'set `issuer` to what the server publishes (a trailing slash after a path counts)',
  );
}

function slow(issuer: Issuer, timeoutMs: number, cause?: Error): TokenRefreshError {
  return tooSlow(`Discovery failed: the issuer ${issuer.where}`, timeoutMs, cause, 'publish its metadata');
}
