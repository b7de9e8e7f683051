/**
 * A real OpenID Connect authorization server (`oidc-provider`) with the whole life of a login turned on: discovery at a
 * path-aware issuer, revocation (RFC 7009), introspection (RFC 7662) and the client credentials grant; and a resource
 * server that checks every access token by calling the introspection endpoint over HTTP, as an API in production does.
 * All on 127.0.0.1.
 *
 * - The provider is mounted under `/tenants/acme`, so its issuer is `http://127.0.0.1:<port>/tenants/acme` and its
 *   OpenID metadata is at `/tenants/acme/.well-known/openid-configuration`. The RFC 8414 location
 *   (`/.well-known/oauth-authorization-server/tenants/acme`) is a 404, as it is at oidc-provider in production.
 * - `/.well-known/oauth-authorization-server/copied` serves the real metadata unchanged: what a client configured with
 *   the issuer `…/copied` would fetch from a server that copied another issuer's document (a mix-up).
 * - Clients: `app` (client_secret_basic; authorization code and refresh token), `svc` (client_secret_post; client
 *   credentials with the scope `reports:read`), `api` (the resource server, for introspection).
 * - `hangRevocation = true` makes the revocation endpoint accept the connection and never answer.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCOUNT, close, listen, loadProvider, mapAdapter } from './oidc-common.js';
import axios from 'axios';

export interface FullClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface LoginTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly grantId: string;
}

export interface OidcFull {
  /** The path-aware issuer, e.g. `http://127.0.0.1:41234/tenants/acme`. */
  readonly issuer: string;
  /** An issuer whose RFC 8414 location serves the real issuer's metadata (so the `issuer` member differs). */
  readonly copiedIssuer: string;
  readonly tokenUrl: string;
  readonly revocationUrl: string;
  /** The resource server's origin; `GET /reports` needs an access token that introspection says is active. */
  readonly apiUrl: string;
  readonly clients: { readonly app: FullClient; readonly svc: FullClient };
  /** `grant_type` of every call the token endpoint answered, in order. */
  readonly tokenCalls: string[];
  /** Revocation requests that reached the server. */
  readonly revocationCalls: number;
  /** Resource server answers: 200s and 401s, and how many requests came with no Authorization header at all. */
  readonly api: { ok: number; unauthorized: number; anonymous: number };
  /** While true, the revocation endpoint never answers. */
  hangRevocation: boolean;
  /** Issues a grant with an access and a refresh token for `app`, as a login would (no browser). */
  login(): Promise<LoginTokens>;
  /** Asks the introspection endpoint (as `api`) whether a token is active. */
  introspect(token: string, hint?: 'access_token' | 'refresh_token'): Promise<boolean>;
  /** Revokes a token as an administrator would, with the client that owns it (here `svc`). */
  revokeAsAdmin(token: string): Promise<void>;
  close(): Promise<void>;
}

const MOUNT = '/tenants/acme';
/** The part of oidc-provider's API used here (the package ships no types). */
interface ProviderInstance {
  readonly Client: { find(clientId: string): Promise<{ readonly clientId: string } | undefined> };
  readonly Grant: new (payload: {
    clientId: string;
    accountId: string;
  }) => {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  };
  readonly AccessToken: new (payload: Record<string, unknown>) => { save(): Promise<string> };
  readonly RefreshToken: new (payload: Record<string, unknown>) => { save(): Promise<string> };
  use(
    middleware: (
      ctx: {
        readonly oidc?: { readonly route?: string; readonly params?: Record<string, unknown> };
        readonly status: number;
      },
      next: () => Promise<void>,
    ) => Promise<void>,
  ): void;
  on(event: string, listener: (...args: never[]) => void): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Starts the authorization server and the resource server.
 *
 * @param accessTokenTtlSeconds - access token lifetime. @default 60
 */
export async function startOidcFull(accessTokenTtlSeconds = 60): Promise<OidcFull> {
  const Provider = await loadProvider<ProviderInstance>();
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const state = { hangRevocation: false, revocationCalls: 0 };
  const authServer = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/.well-known/oauth-authorization-server/copied') {
      void axios
        .get<unknown>(`${issuer}/.well-known/openid-configuration`)
        .then(({ data }) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(data)))
        .catch(() => res.writeHead(502).end());
      return;
    }
    if (!handler || !url.startsWith(`${MOUNT}/`)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    if (url.startsWith(`${MOUNT}/token/revocation`)) {
      state.revocationCalls += 1;
      if (state.hangRevocation) return;
    }
    // Mounted as express would: the provider sees its own path, and `originalUrl` tells it the mount path.
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
    req.url = url.slice(MOUNT.length);
    handler(req, res);
  });
  const origin = `http://127.0.0.1:${await listen(authServer)}`;
  const issuer = `${origin}${MOUNT}`;

  const clients = {
    app: { clientId: 'app', clientSecret: 'app-secret-0123456789', authMethod: 'client_secret_basic' as const },
    svc: { clientId: 'svc', clientSecret: 'svc-secret-0123456789', authMethod: 'client_secret_post' as const },
  };
  const apiClient = { clientId: 'api', clientSecret: 'api-secret-0123456789' };
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const provider = new Provider(issuer, {
    adapter: mapAdapter(),
    clients: [
      {
        client_id: clients.app.clientId,
        client_secret: clients.app.clientSecret,
        token_endpoint_auth_method: clients.app.authMethod,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: clients.svc.clientId,
        client_secret: clients.svc.clientSecret,
        token_endpoint_auth_method: clients.svc.authMethod,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'reports:read',
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: apiClient.clientId,
        client_secret: apiClient.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [privateKey.export({ format: 'jwk' }) as Record<string, unknown>] },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    scopes: ['openid', 'offline_access', 'reports:read'],
    ttl: {
      AccessToken: accessTokenTtlSeconds,
      ClientCredentials: accessTokenTtlSeconds,
      RefreshToken: 3600,
      Grant: 3600,
      IdToken: 3600,
    },
    clockTolerance: 0,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: { clientId: string }) => client.clientId === apiClient.clientId,
      },
    },
  });
  const tokenCalls: string[] = [];
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'token') tokenCalls.push(String(ctx.oidc.params?.['grant_type']));
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => {
    process.emitWarning(`oidc-provider server_error: ${error.message}`);
  });
  handler = provider.callback();

  const revocationUrl = `${issuer}/token/revocation`;
  const introspectionUrl = `${issuer}/token/introspection`;
  const introspector = axios.create();
  async function introspect(token: string, hint?: 'access_token' | 'refresh_token'): Promise<boolean> {
    const body = new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) });
    const { data } = await introspector.post<{ active?: boolean }>(introspectionUrl, body.toString(), {
      auth: { username: apiClient.clientId, password: apiClient.clientSecret },
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    return data.active === true;
  }

  const api = { ok: 0, unauthorized: 0, anonymous: 0 };
  const apiServer = createServer((req, res) => {
    if (req.headers.authorization === undefined) api.anonymous += 1;
    const match = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    void (match ? introspect(match[1] ?? '', 'access_token') : Promise.resolve(false))
      .then((active) => {
        if (!active) {
          api.unauthorized += 1;
          res.writeHead(401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }).end();
          return;
        }
        api.ok += 1;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ reports: [] }));
      })
      .catch(() => res.writeHead(500).end());
  });
  const apiUrl = `http://127.0.0.1:${await listen(apiServer)}`;

  const harness: OidcFull = {
    issuer,
    copiedIssuer: `${origin}/copied`,
    tokenUrl: `${issuer}/token`,
    revocationUrl,
    apiUrl,
    clients,
    tokenCalls,
    get revocationCalls() {
      return state.revocationCalls;
    },
    api,
    get hangRevocation() {
      return state.hangRevocation;
    },
    set hangRevocation(value: boolean) {
      state.hangRevocation = value;
    },
    async login() {
      const client = await provider.Client.find(clients.app.clientId);
      if (!client) throw new Error('no client app');
      const grant = new provider.Grant({ clientId: client.clientId, accountId: ACCOUNT });
      grant.addOIDCScope('openid offline_access');
      const grantId = await grant.save();
      const common = { client, accountId: ACCOUNT, grantId, scope: 'openid offline_access', gty: 'authorization_code' };
      const refreshToken = await new provider.RefreshToken(common).save();
      const accessToken = await new provider.AccessToken(common).save();
      return { accessToken, refreshToken, grantId };
    },
    introspect,
    async revokeAsAdmin(token) {
      const body = new URLSearchParams({
        token,
        client_id: clients.svc.clientId,
        client_secret: clients.svc.clientSecret,
      });
      await introspector.post(revocationUrl, body.toString(), {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    },
    async close() {
      await Promise.all([close(authServer), close(apiServer)]);
    },
  };
  return harness;
}
