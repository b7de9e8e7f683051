import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import type { AxiosInstance } from 'axios';
import { isTokenRefreshError } from '../../../src/errors.js';
import type { RefreshFunction } from '../../../src/options.js';

/** A static file the server also serves (the browser test page and its bundle). */
export interface StaticRoute {
  readonly type: string;
  readonly body: string;
}

/** What the token endpoint saw, for the assertions. */
export interface RefreshRequest {
  readonly refreshToken: string;
  /** The `x-client` header: which worker or tab asked. */
  readonly client: string;
  readonly outcome: 'rotated' | 'reused' | 'unknown' | 'abandoned';
}

/** A revocation request (RFC 7009) the server received. */
export interface RevocationRequest {
  readonly token: string;
  readonly hint: string | null;
  /** Whether the token was live when it arrived (and so is dead now). */
  readonly live: boolean;
}

export interface TokenApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every refresh request, in arrival order. */
  readonly refreshRequests: RefreshRequest[];
  /** Rotations that completed (the client got new tokens). */
  rotations(): number;
  /** True once a spent refresh token was presented: the grant is revoked, as RFC 9700 §4.14.2 asks. */
  revoked(): boolean;
  /** Every revocation request, in arrival order. */
  readonly revocations: RevocationRequest[];
  /** API calls answered 200 and 401. */
  readonly api: { ok: number; unauthorized: number };
  /** API calls that came with no Authorization header at all. */
  anonymousRequests(): number;
  /**
   * Makes the next refresh request hang until its client goes away (a process killed, a tab closed mid-refresh),
   * and calls `onHang` with its `x-client` header. The hung request rotates nothing: like a transaction that never
   * committed.
   */
  hangNextRefresh(onHang: (client: string) => void): void;
  /** Delays every refresh answer by this many milliseconds (a slow authorization server). */
  setRefreshDelay(ms: number): void;
  /**
   * Delays every revocation answer by this many milliseconds. The revocation takes effect when the request arrives;
   * only the answer is late (a slow authorization server).
   */
  setRevocationDelay(ms: number): void;
  /** Makes the current access token expire: the API answers it with 401 until the next refresh. */
  expireAccess(): void;
  close(): Promise<void>;
}

/** The tokens the grant starts with. The access token is already expired: the API answers it with 401. */
export const INITIAL = { accessToken: 'access-0', refreshToken: 'refresh-0' } as const;

/**
 * One protected API and its token endpoint on 127.0.0.1, with refresh-token rotation and reuse detection: every
 * refresh spends the refresh token and issues `access-n`/`refresh-n`; presenting a spent refresh token revokes the
 * whole grant (every token stops working). `GET /api/...` answers 200 only for the newest access token. `POST /revoke`
 * (RFC 7009, no client authentication) ends the grant when given the current refresh token, and kills the current
 * access token when given it; it answers 200 whatever the token, as the RFC says.
 */
export async function startTokenApi(routes: Readonly<Record<string, StaticRoute>> = {}): Promise<TokenApi> {
  let generation = 0;
  let currentRefresh: string = INITIAL.refreshToken;
  let currentAccess: string | undefined; // access-0 starts expired
  const spent = new Set<string>();
  let isRevoked = false;
  let delayMs = 0;
  let revocationDelayMs = 0;
  /** The current refresh token was revoked: the grant is over (a logout), unlike `isRevoked` (reuse detected). */
  let loggedOut = false;
  const revocations: RevocationRequest[] = [];
  let hang: ((client: string) => void) | undefined;
  const refreshRequests: RefreshRequest[] = [];
  const api = { ok: 0, unauthorized: 0 };
  let anonymous = 0;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => resolve(text));
      req.on('error', reject);
    });

  const token = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = new URLSearchParams(await readBody(req));
    const presented = form.get('refresh_token') ?? '';
    const client = String(req.headers['x-client'] ?? '');
    if (hang) {
      const onHang = hang;
      hang = undefined;
      refreshRequests.push({ refreshToken: presented, client, outcome: 'abandoned' });
      onHang(client);
      return; // never answered; the socket closes when the client dies
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed || req.socket.destroyed) {
      refreshRequests.push({ refreshToken: presented, client, outcome: 'abandoned' });
      return;
    }
    if (!isRevoked && !loggedOut && presented === currentRefresh) {
      spent.add(presented);
      generation += 1;
      currentRefresh = `refresh-${generation}`;
      currentAccess = `access-${generation}`;
      refreshRequests.push({ refreshToken: presented, client, outcome: 'rotated' });
      send(res, 200, {
        access_token: currentAccess,
        refresh_token: currentRefresh,
        token_type: 'Bearer',
        expires_in: 300,
      });
      return;
    }
    if (spent.has(presented)) {
      isRevoked = true;
      currentAccess = undefined;
      refreshRequests.push({ refreshToken: presented, client, outcome: 'reused' });
    } else {
      refreshRequests.push({ refreshToken: presented, client, outcome: 'unknown' });
    }
    send(res, 400, { error: 'invalid_grant', error_description: 'refresh token is not valid' });
  };

  const revoke = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = new URLSearchParams(await readBody(req));
    const presented = form.get('token') ?? '';
    const refreshLive = !isRevoked && !loggedOut && presented === currentRefresh;
    const accessLive = currentAccess !== undefined && presented === currentAccess;
    if (refreshLive) loggedOut = true;
    if (refreshLive || accessLive) currentAccess = undefined;
    revocations.push({ token: presented, hint: form.get('token_type_hint'), live: refreshLive || accessLive });
    if (revocationDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, revocationDelayMs));
    if (!res.destroyed) res.writeHead(200, { 'cache-control': 'no-store' }).end();
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'POST' && path === '/token') {
      token(req, res).catch(() => res.destroy());
      return;
    }
    if (req.method === 'POST' && path === '/revoke') {
      revoke(req, res).catch(() => res.destroy());
      return;
    }
    if (path.startsWith('/api/')) {
      if (req.headers.authorization === undefined) anonymous += 1;
      const authorization = req.headers.authorization ?? '';
      if (currentAccess !== undefined && authorization === `Bearer ${currentAccess}`) {
        api.ok += 1;
        send(res, 200, { path, token: currentAccess });
      } else {
        api.unauthorized += 1;
        res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
        send(res, 401, { error: 'invalid_token' });
      }
      return;
    }
    const route = routes[path];
    if (req.method === 'GET' && route) {
      res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' });
      res.end(route.body);
      return;
    }
    send(res, 404, { error: 'not_found' });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    refreshRequests,
    rotations: () => refreshRequests.filter((r) => r.outcome === 'rotated').length,
    revoked: () => isRevoked,
    revocations,
    api,
    anonymousRequests: () => anonymous,
    hangNextRefresh: (onHang) => {
      hang = onHang;
    },
    setRefreshDelay: (ms) => {
      delayMs = ms;
    },
    setRevocationDelay: (ms) => {
      revocationDelayMs = ms;
    },
    expireAccess: () => {
      currentAccess = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The `refresh` of the tests' services: posts the refresh token to the token API's `/token` (no OAuth client) and
 * reads its answer, `expires_in` in seconds.
 */
export function refreshAt(api: TokenApi): RefreshFunction {
  const tokenEndpoint = axios.create({ baseURL: api.url });
  return async (current, { signal }) => {
    const { data } = await tokenEndpoint.post<{ access_token: string; refresh_token: string; expires_in: number }>(
      '/token',
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
      { signal },
    );
    return {
      accessToken: data.access_token,
      refreshToken: data.refresh_token,
      expiresAt: Date.now() + data.expires_in * 1000,
    };
  };
}

/** The status of a GET through `instance`, or the error's code (or message) when no response came. */
export async function statusOf(instance: AxiosInstance, path: string): Promise<number | string> {
  try {
    return (await instance.get(path)).status;
  } catch (error) {
    if (axios.isAxiosError(error) && error.response) return error.response.status;
    return isTokenRefreshError(error) ? error.code : String(error);
  }
}
