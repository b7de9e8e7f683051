/**
 * A real OpenID Connect authorization server (`oidc-provider`, OpenID certified) and a small resource server, both on
 * 127.0.0.1, for the integration tests and the demo.
 *
 * - Clients: `basic` (client_secret_basic, a secret full of special characters), `post` (client_secret_post) and
 *   `none` (a public client).
 * - Refresh tokens rotate on every use by default; presenting a consumed one makes oidc-provider revoke the whole grant
 *   (its reuse detection). `rotateRefreshTokens: false` gives a server that keeps the refresh token, as Keycloak
 *   offline tokens do.
 * - Access tokens are opaque and short-lived (2 s by default); the resource server checks them with the provider's own
 *   `AccessToken.find`, which is what its introspection endpoint uses, without an HTTP round trip.
 * - `stats` counts what happened on the token endpoint, from the request bodies the provider parsed and from its
 *   events, so a test can assert "no refresh token presented twice" and "grant never revoked".
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCOUNT, close, listen, loadProvider, mapAdapter } from './oidc-common.js';

/** The three client authentication methods the harness registers a client for. */
export type HarnessClientName = 'basic' | 'post' | 'none';

export interface HarnessClient {
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export interface OidcHarnessOptions {
  /** Access token lifetime, in whole seconds (the provider counts in seconds). @default 2 */
  readonly accessTokenTtlSeconds?: number;
  /** Rotate the refresh token on every use. @default true */
  readonly rotateRefreshTokens?: boolean;
}

/** One request the token endpoint received, as the provider parsed it. */
export interface TokenEndpointCall {
  readonly at: number;
  readonly grantType: string | undefined;
  readonly clientId: string | undefined;
  /** The refresh token presented (grant_type=refresh_token only). */
  readonly refreshToken: string | undefined;
  readonly status: number;
  readonly error: string | undefined;
}

export interface OidcStats {
  /** Every call to the token endpoint, in order. */
  readonly tokenCalls: TokenEndpointCall[];
  /** Successful refresh grants (provider event `grant.success` with grant_type=refresh_token). */
  refreshes: number;
  /** Refresh tokens consumed (provider event `refresh_token.consumed`). */
  consumed: number;
  /** Grants revoked (provider event `grant.revoked`), e.g. by reuse detection. */
  readonly revokedGrants: string[];
  /** Access tokens in the order the resource server first accepted them (a response's `token` is an index here). */
  readonly acceptedAccessTokens: string[];
  /** Requests the resource server answered 200 / 401. */
  apiOk: number;
  apiUnauthorized: number;
}

export interface IssuedTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Epoch ms, as the provider will enforce it (it counts whole seconds). */
  readonly expiresAt: number;
  readonly grantId: string;
}

export interface OidcHarness {
  /** The issuer, e.g. `http://127.0.0.1:41234`. */
  readonly issuer: string;
  /** The token endpoint. */
  readonly tokenUrl: string;
  /** The resource server's origin; `GET /me` needs a valid access token. */
  readonly apiUrl: string;
  readonly clients: Readonly<Record<HarnessClientName, HarnessClient>>;
  readonly accessTokenTtlSeconds: number;
  readonly stats: OidcStats;
  /**
   * Issues a grant with an access and a refresh token for `client`, as if the user had just logged in (no browser).
   *
   * @param scope - @default 'openid offline_access'
   */
  login(client: HarnessClientName, scope?: string): Promise<IssuedTokens>;
  /** When the provider considers `accessToken` expired, in epoch ms; undefined if it does not know the token. */
  accessTokenExpiry(accessToken: string): Promise<number | undefined>;
  /** Revokes a grant with all its tokens, as a logout or an admin would. */
  revokeGrant(grantId: string): Promise<void>;
  /** Whether the grant still exists. */
  grantExists(grantId: string): Promise<boolean>;
  /**
   * Refresh tokens that reached the token endpoint more than once.
   *
   * @param calls - the calls to look at. @default every call so far
   */
  refreshTokensPresentedTwice(calls?: readonly TokenEndpointCall[]): string[];
  close(): Promise<void>;
}

/** Within RFC 6749 Appendix A's VSCHAR (%x20-7E), which oidc-provider enforces for a client secret. */
export const SPECIAL_SECRET = `s3cr%t&+ :/?#=;"'~!@$()[]{}<>|\\^*,`;

/** The part of oidc-provider's API used here (the package ships no types, and @types/oidc-provider is not installed). */
interface ProviderContext {
  readonly status: number;
  readonly body: unknown;
  readonly oidc?: {
    readonly route?: string;
    readonly params?: Record<string, unknown>;
    readonly client?: { readonly clientId: string };
  };
}
interface StoredToken {
  readonly exp?: number;
  readonly accountId?: string;
  readonly clientId?: string;
  save(): Promise<string>;
}
interface TokenModel {
  new (payload: Record<string, unknown>): StoredToken;
  find(value: string, options?: { ignoreExpiration?: boolean }): Promise<StoredToken | undefined>;
  revokeByGrantId(grantId: string): Promise<void>;
}
interface ProviderInstance {
  readonly Client: { find(clientId: string): Promise<{ readonly clientId: string } | undefined> };
  readonly Grant: {
    new (payload: {
      clientId: string;
      accountId: string;
    }): { addOIDCScope(scope: string): void; save(): Promise<string> };
    find(grantId: string, options?: { ignoreExpiration?: boolean }): Promise<object | undefined>;
    readonly adapter: { destroy(id: string): Promise<void> };
  };
  readonly AccessToken: TokenModel;
  readonly RefreshToken: TokenModel;
  use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): void;
  on(event: string, listener: (...args: never[]) => void): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Starts the authorization server and the resource server on 127.0.0.1 (ports chosen by the OS).
 *
 * @example
 * ```ts
 * const oidc = await startOidc({ accessTokenTtlSeconds: 2 });
 * const tokens = await oidc.login('basic');
 * ```
 */
export async function startOidc(options: OidcHarnessOptions = {}): Promise<OidcHarness> {
  const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 2;
  const rotate = options.rotateRefreshTokens ?? true;
  const Provider = await loadProvider<ProviderInstance>();

  let providerHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const authServer = createServer((req, res) => {
    if (providerHandler) providerHandler(req, res);
    else res.writeHead(503).end();
  });
  const issuer = `http://127.0.0.1:${await listen(authServer)}`;

  const clients: Record<HarnessClientName, HarnessClient> = {
    basic: { clientId: 'client-basic', clientSecret: SPECIAL_SECRET, authMethod: 'client_secret_basic' },
    post: { clientId: 'client-post', clientSecret: 'post-secret-0123456789', authMethod: 'client_secret_post' },
    none: { clientId: 'client-public', authMethod: 'none' },
  };

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const provider = new Provider(issuer, {
    adapter: mapAdapter(),
    clients: Object.values(clients).map((client) => ({
      client_id: client.clientId,
      ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
      token_endpoint_auth_method: client.authMethod,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
      // An EC key is generated in a millisecond; an RSA one (for the default RS256) takes a noticeable while.
      id_token_signed_response_alg: 'ES256',
    })),
    jwks: { keys: [privateKey.export({ format: 'jwk' }) as Record<string, unknown>] },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    ttl: { AccessToken: accessTokenTtlSeconds, RefreshToken: 3600, Grant: 3600, IdToken: 3600, Session: 3600 },
    rotateRefreshToken: rotate,
    // The default 15 s tolerance would let the resource server accept a token long after the expiry under test.
    clockTolerance: 0,
    features: { devInteractions: { enabled: false } },
  });

  const stats: OidcStats = {
    tokenCalls: [],
    refreshes: 0,
    consumed: 0,
    revokedGrants: [],
    acceptedAccessTokens: [],
    apiOk: 0,
    apiUnauthorized: 0,
  };
  // Recorded after the route ran, so the provider has parsed the body (and authenticated the client) by then.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    const params = (ctx.oidc.params ?? {}) as Record<string, unknown>;
    const body = ctx.body as { error?: unknown } | undefined;
    stats.tokenCalls.push({
      at: Date.now(),
      grantType: typeof params['grant_type'] === 'string' ? params['grant_type'] : undefined,
      clientId: ctx.oidc.client?.clientId,
      refreshToken: typeof params['refresh_token'] === 'string' ? params['refresh_token'] : undefined,
      status: ctx.status,
      error: typeof body?.error === 'string' ? body.error : undefined,
    });
  });
  provider.on('grant.success', (ctx: ProviderContext) => {
    if (ctx.oidc?.params?.['grant_type'] === 'refresh_token') stats.refreshes += 1;
  });
  provider.on('refresh_token.consumed', () => {
    stats.consumed += 1;
  });
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => {
    stats.revokedGrants.push(grantId);
  });
  // The provider reports server errors through this event rather than throwing; a test should see them.
  provider.on('server_error', (_ctx: unknown, error: Error) => {
    process.emitWarning(`oidc-provider server_error: ${error.message}`);
  });
  providerHandler = provider.callback();

  const apiServer = createServer((req, res) => {
    void (async () => {
      const match = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '');
      const token = match ? await provider.AccessToken.find(match[1] ?? '') : undefined;
      if (!token) {
        stats.apiUnauthorized += 1;
        res.writeHead(401, {
          'WWW-Authenticate':
            'Bearer error="invalid_token", error_description="the access token is invalid or expired"',
          'Content-Type': 'application/json',
        });
        res.end(JSON.stringify({ error: 'invalid_token' }));
        return;
      }
      stats.apiOk += 1;
      const value = match?.[1] ?? '';
      let index = stats.acceptedAccessTokens.indexOf(value);
      if (index < 0) index = stats.acceptedAccessTokens.push(value) - 1;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ sub: token.accountId, client_id: token.clientId, token: index, path: req.url }));
    })().catch(() => {
      res.writeHead(500).end();
    });
  });
  const apiUrl = `http://127.0.0.1:${await listen(apiServer)}`;

  async function accessTokenExpiry(value: string): Promise<number | undefined> {
    const token = await provider.AccessToken.find(value, { ignoreExpiration: true });
    return token?.exp === undefined ? undefined : token.exp * 1000;
  }

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    apiUrl,
    clients,
    accessTokenTtlSeconds,
    stats,
    async login(name, scope = 'openid offline_access') {
      const client = await provider.Client.find(clients[name].clientId);
      if (!client) throw new Error(`no client ${name}`);
      const grant = new provider.Grant({ clientId: client.clientId, accountId: ACCOUNT });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      // Minted through the provider's own models, exactly as its authorization_code grant does after a login, so the
      // refresh grant under test treats them as any other tokens (grant, account, client and scope all line up).
      const common = { client, accountId: ACCOUNT, grantId, scope, gty: 'authorization_code' };
      const refreshToken = await new provider.RefreshToken(common).save();
      const accessToken = await new provider.AccessToken(common).save();
      const expiresAt = (await accessTokenExpiry(accessToken)) ?? 0;
      return { accessToken, refreshToken, expiresAt, grantId };
    },
    accessTokenExpiry,
    async revokeGrant(grantId) {
      await Promise.all([
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.Grant.adapter.destroy(grantId),
      ]);
    },
    async grantExists(grantId) {
      return (await provider.Grant.find(grantId, { ignoreExpiration: true })) !== undefined;
    },
    refreshTokensPresentedTwice(calls = stats.tokenCalls) {
      const seen = new Set<string>();
      const twice = new Set<string>();
      for (const call of calls) {
        if (call.refreshToken === undefined) continue;
        if (seen.has(call.refreshToken)) twice.add(call.refreshToken);
        seen.add(call.refreshToken);
      }
      return [...twice];
    },
    async close() {
      await Promise.all([close(authServer), close(apiServer)]);
    },
  };
}
