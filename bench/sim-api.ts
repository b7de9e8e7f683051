/**
 * The simulated API every contender talks to: an axios adapter that answers without network. It validates bearer
 * tokens for `/api/*` and serves a token endpoint (`POST /oauth/token`, RFC 6749 §6) with refresh-token rotation and
 * reuse detection: presenting a refresh token that was already spent revokes the whole grant, so every token of it
 * dies (what real authorization servers do, RFC 9700 §4.14.2).
 *
 * Access tokens are unsigned JWTs (`alg: none`, RFC 7519 §6) with an `exp` claim, so plugins that read `exp`
 * (axios-jwt, ours) can see a known expiry. A server-side expiry (`expireAccessTokens()`) kills tokens whose `exp` is
 * still in the future: the client cannot know.
 */
import { AxiosError, AxiosHeaders } from 'axios';
import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';

/** What the token endpoint returns, in the OAuth wire format. */
export interface TokenResponse {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
}

/** Counters a scenario reads after it ran; `reset()` zeroes them. */
export interface ServerCounters {
  /** `/api/*` requests answered. */
  apiRequests: number;
  /** `/api/*` requests answered 401. */
  served401: number;
  /** Calls to the token endpoint, whatever their outcome. */
  refreshCalls: number;
  /** Token endpoint calls that rotated the refresh token and issued new tokens. */
  rotations: number;
  /** Refresh tokens presented after they had been spent (the first one revokes its grant). */
  spentPresented: number;
  /** Grants revoked by reuse detection. */
  revocations: number;
}

interface Grant {
  readonly id: number;
  revoked: boolean;
  /** The one refresh token of this grant that is not spent yet. */
  refreshToken: string;
  accessToken: string;
  /** Epoch ms at which the server stops accepting the access token (its JWT `exp`). */
  accessExpiresAtMs: number;
}

const JWT_HEADER = base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** Options of {@link SimApi}. */
export interface SimApiOptions {
  /** Latency of the token endpoint in milliseconds (0: answered on the next turn of the event loop). @default 2 */
  readonly tokenLatencyMs?: number;
  /** Lifetime of issued access tokens in seconds (the JWT `exp`). @default 3600 */
  readonly accessTokenLifetimeS?: number;
}

export class SimApi {
  readonly counters: ServerCounters = SimApi.#zero();
  tokenLatencyMs: number;
  accessTokenLifetimeS: number;
  /** Live access token -> its grant. Only the latest access token of a grant is in here. */
  readonly #access = new Map<string, Grant>();
  readonly #grants = new Map<number, Grant>();
  #serial = 0;

  constructor(options: SimApiOptions = {}) {
    this.tokenLatencyMs = options.tokenLatencyMs ?? 2;
    this.accessTokenLifetimeS = options.accessTokenLifetimeS ?? 3600;
  }

  static #zero(): ServerCounters {
    return { apiRequests: 0, served401: 0, refreshCalls: 0, rotations: 0, spentPresented: 0, revocations: 0 };
  }

  /** Zeroes the counters (tokens and grants stay). */
  reset(): void {
    Object.assign(this.counters, SimApi.#zero());
  }

  /** Logs a user in: a new grant and its first tokens. */
  login(lifetimeS = this.accessTokenLifetimeS): TokenResponse {
    const grant: Grant = {
      id: this.#grants.size + 1,
      revoked: false,
      refreshToken: '',
      accessToken: '',
      accessExpiresAtMs: 0,
    };
    this.#grants.set(grant.id, grant);
    return this.#issue(grant, lifetimeS);
  }

  /** Whether the grant that issued this refresh token was revoked (reuse detected). */
  isRevoked(refreshToken: string): boolean {
    return this.#grantOf(refreshToken)?.revoked ?? false;
  }

  /** Server-side expiry: every live access token dies now, although its `exp` is in the future. */
  expireAccessTokens(): void {
    this.#access.clear();
  }

  /** Refresh tokens are `rt-<grant>-<serial>`: every one but the grant's current one is spent, without keeping a list. */
  #grantOf(refreshToken: string): Grant | undefined {
    const match = /^rt-(\d+)-\d+$/.exec(refreshToken);
    return match ? this.#grants.get(Number(match[1])) : undefined;
  }

  #issue(grant: Grant, lifetimeS: number): TokenResponse {
    const serial = ++this.#serial;
    const exp = Math.floor(Date.now() / 1000) + lifetimeS;
    const payload = base64url(JSON.stringify({ sub: `user-${grant.id}`, gid: grant.id, jti: serial, exp }));
    this.#access.delete(grant.accessToken);
    grant.accessToken = `${JWT_HEADER}.${payload}.`;
    grant.accessExpiresAtMs = exp * 1000;
    grant.refreshToken = `rt-${grant.id}-${serial}`;
    this.#access.set(grant.accessToken, grant);
    return {
      access_token: grant.accessToken,
      refresh_token: grant.refreshToken,
      token_type: 'Bearer',
      expires_in: lifetimeS,
    };
  }

  /** The axios adapter: set it as `config.adapter` (or `instance.defaults.adapter`). */
  readonly adapter: AxiosAdapter = (config) => {
    if (config.url === '/oauth/token') return this.#tokenEndpoint(config);
    return this.#api(config);
  };

  #api(config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
    this.counters.apiRequests++;
    const authorization = config.headers.get('Authorization');
    if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) {
      const grant = this.#access.get(authorization.slice(7));
      if (grant !== undefined && !grant.revoked && Date.now() < grant.accessExpiresAtMs) {
        return Promise.resolve(respond(config, 200, OK_BODY));
      }
    }
    this.counters.served401++;
    return Promise.reject(fail(config, 401, UNAUTHORIZED_BODY, UNAUTHORIZED_HEADERS));
  }

  async #tokenEndpoint(config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
    this.counters.refreshCalls++;
    // Read when the request arrives, answered after the latency.
    const form = new URLSearchParams(typeof config.data === 'string' ? config.data : '');
    await new Promise((resolve) =>
      this.tokenLatencyMs > 0 ? setTimeout(resolve, this.tokenLatencyMs) : setImmediate(resolve),
    );
    if (form.get('grant_type') !== 'refresh_token') throw fail(config, 400, { error: 'unsupported_grant_type' });
    const presented = form.get('refresh_token') ?? '';
    const grant = this.#grantOf(presented);
    if (grant === undefined) throw fail(config, 400, { error: 'invalid_grant' });
    if (presented !== grant.refreshToken) {
      this.counters.spentPresented++;
      if (!grant.revoked) {
        this.counters.revocations++;
        grant.revoked = true;
        this.#access.delete(grant.accessToken);
      }
      throw fail(config, 400, { error: 'invalid_grant', error_description: 'refresh token reuse detected' });
    }
    if (grant.revoked) throw fail(config, 400, { error: 'invalid_grant' });
    this.counters.rotations++;
    return respond(config, 200, this.#issue(grant, this.accessTokenLifetimeS));
  }
}

const OK_BODY = { ok: true };
const UNAUTHORIZED_BODY = { error: 'invalid_token' };
const UNAUTHORIZED_HEADERS = { 'www-authenticate': 'Bearer error="invalid_token"' };

function respond(
  config: InternalAxiosRequestConfig,
  status: number,
  data: unknown,
  headers: Record<string, string> = {},
): AxiosResponse {
  return {
    data,
    status,
    statusText: status === 200 ? 'OK' : 'Error',
    headers: new AxiosHeaders(headers),
    config,
    request: {},
  };
}

function fail(
  config: InternalAxiosRequestConfig,
  status: number,
  data: unknown,
  headers: Record<string, string> = {},
): AxiosError {
  const response = respond(config, status, data, headers);
  return new AxiosError(
    `Request failed with status code ${status}`,
    AxiosError.ERR_BAD_REQUEST,
    config,
    response.request,
    response,
  );
}
