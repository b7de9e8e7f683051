/**
 * A real authorization server with DPoP (`oidc-provider`, `features.dPoP` with nonces required at the token endpoint)
 * and a resource server that checks DPoP the way RFC 9449 §7 and §11 say, both on 127.0.0.1. For the DPoP
 * integration tests, the e2e suites and `npm run demo:dpop`.
 *
 * - Clients: `public` (`token_endpoint_auth_method: 'none'`: its refresh tokens are bound to the key too) and
 *   `confidential` (client_secret_post: only its access tokens are bound). Refresh tokens rotate on every use; a
 *   consumed one presented again revokes the grant (oidc-provider's reuse detection).
 * - The resource server (`GET` any path) wants `Authorization: DPoP <token>` and a proof: signature with the header's
 *   `jwk`, `typ`, `htm`, `htu`, `iat` within 60 s, `jti` never seen, `ath`, the token's bound thumbprint (`jkt`, read
 *   with the provider's `AccessToken.find`, as its introspection does) equal to the proof key's, and its own nonce,
 *   rotated every `nonceRotationMs` (the current and the previous one are accepted), demanded with
 *   401 `DPoP error="use_dpop_nonce"`. Every answer carries the current nonce in `DPoP-Nonce`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCOUNT, close, listen, loadProvider, mapAdapter } from './oidc-common.js';
import { verifyProof } from './dpop-verifier.js';

export type DpopClientName = 'public' | 'confidential';

export interface DpopClient {
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly authMethod: 'client_secret_post' | 'none';
}

export interface OidcDpopOptions {
  /** Access token lifetime in whole seconds. @default 2 */
  readonly accessTokenTtlSeconds?: number;
  /** How often the resource server changes its nonce, in ms. @default 1000 */
  readonly nonceRotationMs?: number;
  /**
   * Pages the authorization server serves itself (path → content), so that a browser page shares the token
   * endpoint's origin; the resource server answers cross-origin requests (CORS) from any origin.
   */
  readonly pages?: Readonly<Record<string, { readonly type: string; readonly body: string }>>;
}

export interface DpopStats {
  /** Every token endpoint call: grant type, refresh token presented, status, OAuth error. */
  readonly tokenCalls: Array<{ grantType?: string; refreshToken?: string; status: number; error?: string }>;
  /** Successful refresh grants. */
  refreshes: number;
  readonly revokedGrants: string[];
  /** Resource server: requests answered 200. */
  apiOk: number;
  /** Resource server: 401 `use_dpop_nonce` answers. */
  apiNonceChallenges: number;
  /** Resource server: 401 `invalid_token` answers (expired or unknown token, wrong key, wrong scheme). */
  apiInvalidToken: number;
  /** Resource server: 401 `invalid_dpop_proof` answers, with the reason. */
  readonly apiInvalidProof: string[];
  /** Resource server: 401 for a token presented with a key it is not bound to. */
  apiKeyMismatch: number;
  /** The `jti` of every proof the resource server accepted, in order. */
  readonly acceptedJtis: string[];
  /** Thumbprints of the keys of accepted proofs. */
  readonly acceptedKeys: Set<string>;
}

export interface DpopLogin {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'DPoP';
  readonly expiresAt: number;
  readonly grantId: string;
}

export interface OidcDpopHarness {
  readonly issuer: string;
  readonly tokenUrl: string;
  /** The resource server's origin. */
  readonly apiUrl: string;
  readonly clients: Readonly<Record<DpopClientName, DpopClient>>;
  readonly stats: DpopStats;
  /** The resource server's current nonce. */
  apiNonce(): string;
  /**
   * A login's tokens bound to `thumbprint`, minted with the provider's own models as its authorization code grant
   * does after a login with `dpop_jkt` (the public client's refresh token is bound too).
   */
  login(client: DpopClientName, thumbprint: string): Promise<DpopLogin>;
  /**
   * Refresh tokens presented again after the provider had accepted them once (a spent token: reuse detection would
   * revoke the grant). A request refused with `use_dpop_nonce` did not spend its token.
   */
  spentRefreshTokensPresented(): string[];
  close(): Promise<void>;
}

/** The part of oidc-provider's API used here (the package ships no types). */
interface ProviderContext {
  readonly status: number;
  readonly body: unknown;
  readonly oidc?: { readonly route?: string; readonly params?: Record<string, unknown> };
}
interface TokenModel {
  new (payload: Record<string, unknown>): { save(): Promise<string> };
  find(value: string): Promise<{ readonly jkt?: string; readonly accountId?: string } | undefined>;
}
interface ProviderInstance {
  readonly Client: { find(clientId: string): Promise<{ readonly clientId: string } | undefined> };
  readonly Grant: new (payload: {
    clientId: string;
    accountId: string;
  }) => {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  };
  readonly AccessToken: TokenModel;
  readonly RefreshToken: TokenModel;
  use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): void;
  on(event: string, listener: (...args: never[]) => void): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Starts both servers on 127.0.0.1.
 *
 * @example
 * ```ts
 * const oidc = await startOidcDpop();
 * const dpop = await createDpop();
 * const tokens = await oidc.login('public', dpop.thumbprint);
 * ```
 */
export async function startOidcDpop(options: OidcDpopOptions = {}): Promise<OidcDpopHarness> {
  const ttl = options.accessTokenTtlSeconds ?? 2;
  const Provider = await loadProvider<ProviderInstance>();
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const authServer = createServer((req, res) => {
    const page = options.pages?.[req.url ?? ''];
    if (page) res.writeHead(200, { 'Content-Type': page.type }).end(page.body);
    else if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  const issuer = `http://127.0.0.1:${await listen(authServer)}`;
  const clients: Record<DpopClientName, DpopClient> = {
    public: { clientId: 'dpop-public', authMethod: 'none' },
    confidential: {
      clientId: 'dpop-confidential',
      clientSecret: 'confidential-secret-0123456789',
      authMethod: 'client_secret_post',
    },
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
      id_token_signed_response_alg: 'ES256',
      dpop_bound_access_tokens: true,
    })),
    jwks: { keys: [privateKey.export({ format: 'jwk' })] },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    ttl: { AccessToken: ttl, RefreshToken: 3600, Grant: 3600, IdToken: 3600, Session: 3600 },
    rotateRefreshToken: true,
    clockTolerance: 0,
    // A browser page sends an Origin header: allow it (the test pages are served by this same server).
    clientBasedCORS: () => true,
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    },
  });

  const stats: DpopStats = {
    tokenCalls: [],
    refreshes: 0,
    revokedGrants: [],
    apiOk: 0,
    apiNonceChallenges: 0,
    apiInvalidToken: 0,
    apiInvalidProof: [],
    apiKeyMismatch: 0,
    acceptedJtis: [],
    acceptedKeys: new Set(),
  };
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    const params = ctx.oidc.params ?? {};
    const error = (ctx.body as { error?: unknown } | undefined)?.error;
    stats.tokenCalls.push({
      ...(typeof params['grant_type'] === 'string' ? { grantType: params['grant_type'] } : {}),
      ...(typeof params['refresh_token'] === 'string' ? { refreshToken: params['refresh_token'] } : {}),
      status: ctx.status,
      ...(typeof error === 'string' ? { error } : {}),
    });
  });
  provider.on('grant.success', (ctx: ProviderContext) => {
    if (ctx.oidc?.params?.['grant_type'] === 'refresh_token') stats.refreshes += 1;
  });
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => {
    stats.revokedGrants.push(grantId);
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => {
    process.emitWarning(`oidc-provider server_error: ${error.message}`);
  });
  handler = provider.callback();

  const nonce = () => randomBytes(16).toString('base64url');
  let nonces = [nonce(), nonce()];
  const rotation = setInterval(() => {
    nonces = [nonce(), nonces[0]!];
  }, options.nonceRotationMs ?? 1000);
  rotation.unref();
  const seenJtis = new Set<string>();

  const apiServer = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'DPoP-Nonce, WWW-Authenticate');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Headers': 'Authorization, DPoP', 'Access-Control-Max-Age': '600' });
      res.end();
      return;
    }
    const refuse = (error: string, description: string): void => {
      // Two challenges in one header, as servers that accept both schemes send them.
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="api", DPoP algs="ES256", error="${error}", error_description="${description}"`,
        'DPoP-Nonce': nonces[0]!,
        'Content-Type': 'application/json',
      });
      res.end(JSON.stringify({ error }));
    };
    void (async () => {
      const match = /^DPoP ([^\s]+)$/.exec(req.headers.authorization ?? '');
      if (!match) {
        stats.apiInvalidToken += 1;
        return refuse('invalid_token', 'a DPoP-bound token is required');
      }
      const accessToken = match[1]!;
      const url = `http://${req.headers.host ?? ''}${req.url ?? '/'}`;
      const result = await verifyProof(req.headers['dpop'], {
        method: req.method ?? 'GET',
        url,
        accessToken,
        nonces,
        seenJtis,
      });
      if (!result.ok) {
        if (result.error === 'use_dpop_nonce') {
          stats.apiNonceChallenges += 1;
          return refuse('use_dpop_nonce', 'Resource server requires nonce in DPoP proof');
        }
        stats.apiInvalidProof.push(result.reason);
        return refuse('invalid_dpop_proof', result.reason);
      }
      const token = await provider.AccessToken.find(accessToken);
      if (!token) {
        stats.apiInvalidToken += 1;
        return refuse('invalid_token', 'the access token is invalid or expired');
      }
      if (token.jkt !== result.thumbprint) {
        stats.apiKeyMismatch += 1;
        stats.apiInvalidToken += 1;
        return refuse('invalid_token', 'the access token is bound to another key');
      }
      stats.apiOk += 1;
      stats.acceptedJtis.push(result.jti);
      stats.acceptedKeys.add(result.thumbprint);
      res.writeHead(200, { 'Content-Type': 'application/json', 'DPoP-Nonce': nonces[0]! });
      res.end(JSON.stringify({ sub: token.accountId, path: req.url, jti: result.jti }));
    })().catch(() => {
      res.writeHead(500).end();
    });
  });
  const apiUrl = `http://127.0.0.1:${await listen(apiServer)}`;

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    apiUrl,
    clients,
    stats,
    apiNonce: () => nonces[0]!,
    async login(name, thumbprint) {
      const client = await provider.Client.find(clients[name].clientId);
      if (!client) throw new Error(`no client ${name}`);
      const grant = new provider.Grant({ clientId: client.clientId, accountId: ACCOUNT });
      const scope = 'openid offline_access';
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const common = { client, accountId: ACCOUNT, grantId, scope, gty: 'authorization_code' };
      // oidc-provider binds a public client's refresh token to the key; a confidential client's is bound by its secret.
      const refreshToken = await new provider.RefreshToken({
        ...common,
        ...(name === 'public' ? { jkt: thumbprint } : {}),
      }).save();
      const before = Date.now();
      const accessToken = await new provider.AccessToken({ ...common, jkt: thumbprint }).save();
      // The provider counts whole seconds from the second it saved the token in: this is the earliest it may expire.
      const expiresAt = Math.floor(before / 1000) * 1000 + ttl * 1000;
      return { accessToken, refreshToken, tokenType: 'DPoP', expiresAt, grantId };
    },
    spentRefreshTokensPresented() {
      const spent = new Set<string>();
      const again = new Set<string>();
      for (const call of stats.tokenCalls) {
        if (call.refreshToken === undefined) continue;
        if (spent.has(call.refreshToken)) again.add(call.refreshToken);
        if (call.status === 200) spent.add(call.refreshToken);
      }
      return [...again];
    },
    async close() {
      clearInterval(rotation);
      await Promise.all([close(authServer), close(apiServer)]);
    },
  };
}
