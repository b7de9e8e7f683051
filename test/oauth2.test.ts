import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenRefreshError, attachRefresh, isTokenRefreshError } from '../src/index.js';
import type { RefreshContext, TokenSet } from '../src/index.js';
import { refreshTokenGrant } from '../src/oauth2.js';
import type { RefreshTokenGrantOptions } from '../src/oauth2.js';
import { closeAll } from './support/local-server.js';

/** One request as the token endpoint received it, byte for byte. */
interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
  readonly params: URLSearchParams;
}

interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Never answer. */
  readonly hang?: boolean;
}

type Handler = (request: Recorded, index: number) => Reply;

interface TokenEndpoint {
  readonly url: string;
  readonly origin: string;
  readonly requests: Recorded[];
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(() => closeAll(servers));

async function tokenEndpoint(handler: Handler): Promise<TokenEndpoint> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const recorded: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        params: new URLSearchParams(rawBody),
      };
      requests.push(recorded);
      const reply = handler(recorded, requests.length - 1);
      if (reply.hang) return;
      const answer = (): void => {
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
        res.writeHead(reply.status ?? 200, {
          'Content-Type': typeof reply.body === 'string' ? 'text/plain' : 'application/json',
          ...reply.headers,
        });
        res.end(body);
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ok = (extra: Record<string, unknown> = {}): Reply => ({
  body: { access_token: 'at-new', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-new', ...extra },
});

const CURRENT: TokenSet = { accessToken: 'at-old', refreshToken: 'rt-old' };
const context = (signal = new AbortController().signal): RefreshContext => ({ signal, reason: 'unauthorized' });

async function refreshWith(options: RefreshTokenGrantOptions, current: TokenSet = CURRENT): Promise<TokenSet> {
  return refreshTokenGrant(options)(current, context());
}

async function failureOf(promise: unknown): Promise<TokenRefreshError> {
  try {
    await promise;
  } catch (error) {
    expect(isTokenRefreshError(error)).toBe(true);
    return error as TokenRefreshError;
  }
  throw new Error('expected the refresh to fail');
}

/** Decodes an `Authorization: Basic` header the way RFC 6749 §2.3.1 says a server must. */
function decodeBasic(header: string | undefined): { raw: string; clientId: string; clientSecret: string } {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const raw = Buffer.from((header ?? '').slice('Basic '.length), 'base64').toString('utf8');
  const colon = raw.indexOf(':');
  const decode = (part: string): string => decodeURIComponent(part.replace(/\+/g, '%20'));
  return { raw, clientId: decode(raw.slice(0, colon)), clientSecret: decode(raw.slice(colon + 1)) };
}

/** Everything a log line could show of an error. */
function everyRendering(error: Error): string {
  return [
    error.message,
    String(error),
    error.stack ?? '',
    JSON.stringify(error),
    JSON.stringify((error as TokenRefreshError).toJSON()),
    inspect(error, { depth: Infinity, showHidden: true }),
  ].join('\n');
}

const SPECIAL_SECRET = '%&+ :/?#é';

describe('refreshTokenGrant(options)', () => {
  describe('the request (RFC 6749 §6)', () => {
    it('POSTs grant_type=refresh_token and the refresh token as a form body, with nothing in the URL', async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({ tokenUrl: server.url, clientId: 'app' });
      const [request] = server.requests;
      expect(request?.method).toBe('POST');
      expect(request?.path).toBe('/oauth/token');
      expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(request?.headers['accept']).toBe('application/json');
      expect(request?.params.get('grant_type')).toBe('refresh_token');
      expect(request?.params.get('refresh_token')).toBe('rt-old');
    });

    it('form-encodes a refresh token with reserved characters', async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({ tokenUrl: server.url, clientId: 'app' }, { refreshToken: 'a+b/c=d&e f' });
      expect(server.requests[0]?.rawBody).toContain('refresh_token=a%2Bb%2Fc%3Dd%26e+f');
      expect(server.requests[0]?.params.get('refresh_token')).toBe('a+b/c=d&e f');
    });

    it('form-encodes the client id and secret before Base64 (RFC 6749 §2.3.1)', async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({ tokenUrl: server.url, clientId: 'my app:1', clientSecret: SPECIAL_SECRET });
      const basic = decodeBasic(server.requests[0]?.headers.authorization);
      expect(basic.raw).toBe('my+app%3A1:%25%26%2B+%3A%2F%3F%23%C3%A9');
      expect(basic.clientId).toBe('my app:1');
      expect(basic.clientSecret).toBe(SPECIAL_SECRET);
      expect(server.requests[0]?.params.has('client_id')).toBe(false);
      expect(server.requests[0]?.params.has('client_secret')).toBe(false);
    });

    it("sends base64(utf8(id:secret)) unencoded with basicAuthEncoding: 'raw'", async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({
        tokenUrl: server.url,
        clientId: 'app',
        clientSecret: SPECIAL_SECRET,
        basicAuthEncoding: 'raw',
      });
      const header = server.requests[0]?.headers.authorization ?? '';
      expect(Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')).toBe(`app:${SPECIAL_SECRET}`);
    });

    it('uses client_secret_basic by default when a secret is given', async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({ tokenUrl: server.url, clientId: 'app', clientSecret: 's3cret' });
      expect(decodeBasic(server.requests[0]?.headers.authorization).clientSecret).toBe('s3cret');
    });

    it('sends client_id and client_secret in the body with client_secret_post, and no Authorization', async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({
        tokenUrl: server.url,
        clientId: 'app',
        clientSecret: SPECIAL_SECRET,
        authMethod: 'client_secret_post',
      });
      const [request] = server.requests;
      expect(request?.headers.authorization).toBeUndefined();
      expect(request?.params.get('client_id')).toBe('app');
      expect(request?.params.get('client_secret')).toBe(SPECIAL_SECRET);
    });

    it("sends only client_id in the body for a public client (authMethod 'none', the default without a secret)", async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({ tokenUrl: server.url, clientId: 'spa' });
      await refreshWith({ tokenUrl: server.url, clientId: 'spa', authMethod: 'none' });
      for (const request of server.requests) {
        expect(request.headers.authorization).toBeUndefined();
        expect(request.params.get('client_id')).toBe('spa');
        expect(request.params.has('client_secret')).toBe(false);
      }
    });

    it('sends `scope` given as a string or a list, and no scope when none is given', async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({ tokenUrl: server.url, clientId: 'app', scope: 'openid  offline_access' });
      await refreshWith({ tokenUrl: server.url, clientId: 'app', scope: ['openid', 'api:read'] });
      await refreshWith({ tokenUrl: server.url, clientId: 'app' });
      expect(server.requests.map((r) => r.params.get('scope'))).toEqual([
        'openid offline_access',
        'openid api:read',
        null,
      ]);
    });

    it('appends `extraParams`, a list once per value', async () => {
      const server = await tokenEndpoint(() => ok());
      await refreshWith({
        tokenUrl: server.url,
        clientId: 'app',
        extraParams: { audience: 'https://api.example', resource: ['urn:a', 'urn:b'] },
      });
      expect(server.requests[0]?.params.get('audience')).toBe('https://api.example');
      expect(server.requests[0]?.params.getAll('resource')).toEqual(['urn:a', 'urn:b']);
    });

    it('lets the `headers` hook see the URL, method and body, add headers and body parameters, async', async () => {
      const server = await tokenEndpoint(() => ok());
      const seen: Array<{ url: string; method: string; body: string }> = [];
      await refreshWith({
        tokenUrl: server.url,
        clientId: 'app',
        headers: async ({ url, method, body }) => {
          seen.push({ url, method, body: body.toString() });
          body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
          await new Promise((resolve) => setTimeout(resolve, 5));
          return { DPoP: 'proof-1' };
        },
      });
      expect(seen).toEqual([
        { url: server.url, method: 'POST', body: 'grant_type=refresh_token&refresh_token=rt-old&client_id=app' },
      ]);
      expect(server.requests[0]?.headers['dpop']).toBe('proof-1');
      expect(server.requests[0]?.params.get('client_assertion_type')).toBe(
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      );
    });

    it('fails with REFRESH_FAILED, the hook error as cause, when the `headers` hook throws', async () => {
      const server = await tokenEndpoint(() => ok());
      const boom = new Error('no key');
      const error = await failureOf(
        refreshWith({
          tokenUrl: server.url,
          clientId: 'app',
          headers: () => {
            throw boom;
          },
        }),
      );
      expect(error.code).toBe('REFRESH_FAILED');
      expect(error.cause).toBe(boom);
      expect(server.requests).toHaveLength(0);
    });

    it('sends through a given axios instance, marked skipAuthRefresh', async () => {
      const server = await tokenEndpoint(() => ok());
      const instance = axios.create();
      const marks: unknown[] = [];
      instance.interceptors.request.use((config) => {
        marks.push(config.skipAuthRefresh);
        return config;
      });
      await refreshWith({ tokenUrl: server.url, clientId: 'app', axios: instance });
      expect(marks).toEqual([true]);
    });

    it('does not follow redirects, so the credentials stay at the configured URL', async () => {
      const target = await tokenEndpoint(() => ok());
      const server = await tokenEndpoint(() => ({ status: 307, headers: { Location: target.url } }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app', clientSecret: 's' }));
      expect(error.code).toBe('CONFIGURATION_ERROR');
      expect(error.status).toBe(307);
      expect(error.message).toContain('`tokenUrl`');
      expect(target.requests).toHaveLength(0);
    });
  });

  describe('the answer (RFC 6749 §5.1)', () => {
    it('returns the new tokens with expiresAt counted from when the request was sent', async () => {
      const server = await tokenEndpoint(() => ({ ...ok(), delayMs: 300 }));
      const before = Date.now();
      const tokens = await refreshWith({ tokenUrl: server.url, clientId: 'app' });
      const after = Date.now();
      expect(tokens).toMatchObject({ accessToken: 'at-new', refreshToken: 'rt-new', tokenType: 'Bearer' });
      // The server held the answer 300 ms: counting from the answer would land past `after - 300 + lifetime`.
      expect(tokens.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
      expect(tokens.expiresAt).toBeLessThanOrEqual(after - 300 + 3_600_000);
    });

    it('accepts expires_in as a numeric string', async () => {
      const server = await tokenEndpoint(() => ok({ expires_in: '120' }));
      const before = Date.now();
      const tokens = await refreshWith({ tokenUrl: server.url, clientId: 'app' });
      expect(tokens.expiresAt).toBeGreaterThanOrEqual(before + 120_000);
      expect(tokens.expiresAt).toBeLessThanOrEqual(Date.now() + 120_000);
    });

    it('leaves expiresAt unset when expires_in is missing or 0', async () => {
      const replies = [ok({ expires_in: undefined }), ok({ expires_in: 0 }), ok({ expires_in: null })];
      const server = await tokenEndpoint((_, i) => replies[i] ?? ok());
      for (let i = 0; i < replies.length; i++) {
        const tokens = await refreshWith({ tokenUrl: server.url, clientId: 'app' });
        expect(tokens.expiresAt).toBeUndefined();
      }
    });

    it.each([
      ['negative', -5],
      ['not a number', 'soon'],
      ['an object', { s: 1 }],
    ])('fails with INVALID_TOKEN_RESPONSE when expires_in is %s', async (_, value) => {
      const server = await tokenEndpoint(() => ok({ expires_in: value }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
      expect(error.message).toContain('`expires_in`');
    });

    it.each([
      ['bearer', 'Bearer'],
      ['BEARER', 'Bearer'],
    ])('accepts token_type %s case-insensitively as %s', async (sent, expected) => {
      const server = await tokenEndpoint(() => ok({ token_type: sent }));
      const tokens = await refreshWith({ tokenUrl: server.url, clientId: 'app' });
      expect(tokens.tokenType).toBe(expected);
    });

    it('fails with CONFIGURATION_ERROR naming an unsupported token_type', async () => {
      const server = await tokenEndpoint(() => ok({ token_type: 'mac' }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error.code).toBe('CONFIGURATION_ERROR');
      expect(error.message).toContain('`mac`');
      expect(error.message).toContain('Bearer and DPoP');
    });

    it('fails with INVALID_TOKEN_RESPONSE when token_type is missing', async () => {
      const server = await tokenEndpoint(() => ok({ token_type: undefined }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
      expect(error.message).toContain('`token_type` is missing');
    });

    it('keeps the previous refresh token when the server sends none (it did not rotate)', async () => {
      const replies = [ok({ refresh_token: undefined }), ok({ refresh_token: null }), ok({ refresh_token: '' })];
      const server = await tokenEndpoint((_, i) => replies[i] ?? ok());
      for (let i = 0; i < replies.length; i++) {
        const tokens = await refreshWith({ tokenUrl: server.url, clientId: 'app' });
        expect(tokens.refreshToken).toBe('rt-old');
        expect(tokens.accessToken).toBe('at-new');
      }
    });

    it('maps id_token and scope, and keeps every other member in `extra`', async () => {
      const server = await tokenEndpoint(() =>
        ok({
          id_token: 'id.jwt.sig',
          scope: 'openid offline_access',
          refresh_expires_in: 0,
          'not-before-policy': 0,
          session_state: 'x',
        }),
      );
      const tokens = await refreshWith({ tokenUrl: server.url, clientId: 'app' });
      expect(tokens.idToken).toBe('id.jwt.sig');
      expect(tokens.scope).toBe('openid offline_access');
      expect(tokens.extra).toEqual({ refresh_expires_in: 0, 'not-before-policy': 0, session_state: 'x' });
    });

    it('omits `extra` when the answer has nothing beyond the standard members', async () => {
      const server = await tokenEndpoint(() => ok());
      const tokens = await refreshWith({ tokenUrl: server.url, clientId: 'app' });
      expect(tokens).not.toHaveProperty('extra');
    });

    it.each([
      ['not JSON', '<html>login</html>'],
      ['a JSON array', '[]'],
      ['without access_token', JSON.stringify({ token_type: 'Bearer' })],
      ['with an empty access_token', JSON.stringify({ access_token: '', token_type: 'Bearer' })],
    ])('fails with INVALID_TOKEN_RESPONSE on a 200 that is %s', async (_, body) => {
      const server = await tokenEndpoint(() => ({ body }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error.code).toBe('INVALID_TOKEN_RESPONSE');
      expect(error.status).toBe(200);
    });
  });

  describe('errors (RFC 6749 §5.2)', () => {
    it('fails with SESSION_EXPIRED on invalid_grant, carrying the OAuth error', async () => {
      const server = await tokenEndpoint(() => ({
        status: 400,
        body: { error: 'invalid_grant', error_description: 'grant request is invalid', error_uri: 'https://docs/e' },
      }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toBeInstanceOf(TokenRefreshError);
      expect(error).toMatchObject({
        code: 'SESSION_EXPIRED',
        status: 400,
        oauthError: 'invalid_grant',
        oauthErrorDescription: 'grant request is invalid',
        oauthErrorUri: 'https://docs/e',
      });
    });

    it.each([
      ['invalid_client', 401, '`clientSecret`'],
      ['unauthorized_client', 400, 'refresh_token grant'],
      ['unsupported_grant_type', 400, '`tokenUrl`'],
      ['invalid_scope', 400, '`scope`'],
      ['invalid_request', 400, '`authMethod`'],
    ])('fails with CONFIGURATION_ERROR on %s, saying what to fix', async (oauthError, status, hint) => {
      const server = await tokenEndpoint(() => ({ status, body: { error: oauthError } }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR', status, oauthError });
      expect(error.message).toContain(oauthError);
      expect(error.message).toContain(hint);
    });

    it('does not mistake an error code named like an object member for a known one', async () => {
      const server = await tokenEndpoint(() => ({ status: 400, body: { error: 'constructor' } }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toMatchObject({ code: 'SESSION_EXPIRED', oauthError: 'constructor' });
      expect(error.message).not.toContain('function');
    });

    it.each([400, 401])(
      'fails with REFRESH_FAILED on a %i without an OAuth error (a gateway, not the server)',
      async (status) => {
        // s9: a WAF's or proxy's page is not the authorization server's verdict on the grant; it never logs users out.
        const server = await tokenEndpoint(() => ({ status, body: '<h1>Bad Request</h1>' }));
        const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
        expect(error).toMatchObject({ code: 'REFRESH_FAILED', status, oauthError: undefined });
      },
    );

    it('treats a 200 carrying an OAuth error and no token as that error', async () => {
      const server = await tokenEndpoint(() => ({ status: 200, body: { error: 'invalid_grant' } }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toMatchObject({ code: 'SESSION_EXPIRED', oauthError: 'invalid_grant' });
    });

    it.each([500, 502, 503])('fails with REFRESH_FAILED on HTTP %i', async (status) => {
      const server = await tokenEndpoint(() => ({ status, body: { error: 'server_error' } }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toMatchObject({ code: 'REFRESH_FAILED', status });
      expect(server.requests).toHaveLength(1);
    });

    it('fails with CONFIGURATION_ERROR on a 404, pointing at `tokenUrl`', async () => {
      const server = await tokenEndpoint(() => ({ status: 404, body: 'Not Found' }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR', status: 404 });
      expect(error.message).toContain('`tokenUrl`');
    });

    it('fails with REFRESH_FAILED and retryAfterMs on a 429 whose Retry-After is long, without retrying', async () => {
      const server = await tokenEndpoint(() => ({ status: 429, headers: { 'Retry-After': '30' }, body: {} }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toMatchObject({ code: 'REFRESH_FAILED', status: 429, retryAfterMs: 30_000 });
      expect(server.requests).toHaveLength(1);
    });

    it('waits out a short Retry-After on a 429 and retries once, with a fresh `headers` call', async () => {
      const server = await tokenEndpoint((_, i) =>
        i === 0 ? { status: 429, headers: { 'Retry-After': '1' }, body: {} } : ok(),
      );
      let proofs = 0;
      const tokens = await refreshWith({
        tokenUrl: server.url,
        clientId: 'app',
        headers: () => ({ DPoP: `proof-${++proofs}` }),
      });
      expect(tokens.accessToken).toBe('at-new');
      expect(server.requests.map((r) => r.headers['dpop'])).toEqual(['proof-1', 'proof-2']);
      expect(server.requests[1]?.params.get('refresh_token')).toBe('rt-old');
    });

    it('retries at most once', async () => {
      const server = await tokenEndpoint(() => ({ status: 429, headers: { 'Retry-After': '0' }, body: {} }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error).toMatchObject({ code: 'REFRESH_FAILED', status: 429, retryAfterMs: 0 });
      expect(server.requests).toHaveLength(2);
    });

    it('does not retry a 429 whose Retry-After is longer than maxRetryAfterMs', async () => {
      const server = await tokenEndpoint(() => ({ status: 429, headers: { 'Retry-After': '1' }, body: {} }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app', maxRetryAfterMs: 0 }));
      expect(error).toMatchObject({ code: 'REFRESH_FAILED', retryAfterMs: 1000 });
      expect(server.requests).toHaveLength(1);
    });

    it('does not retry when the wait would not fit in timeoutMs', async () => {
      const server = await tokenEndpoint(() => ({ status: 429, headers: { 'Retry-After': '2' }, body: {} }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app', timeoutMs: 1_000 }));
      expect(error).toMatchObject({ code: 'REFRESH_FAILED', retryAfterMs: 2000 });
      expect(server.requests).toHaveLength(1);
    });

    it('fails with REFRESH_FAILED when the server cannot be reached', async () => {
      const server = await tokenEndpoint(() => ok());
      await server.close();
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }));
      expect(error.code).toBe('REFRESH_FAILED');
      expect(error.status).toBeUndefined();
      expect(error.message).toContain('ECONNREFUSED');
      expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    });

    it('fails with REFRESH_FAILED naming timeoutMs when the server does not answer in time', async () => {
      const server = await tokenEndpoint(() => ({ hang: true }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app', timeoutMs: 200 }));
      expect(error.code).toBe('REFRESH_FAILED');
      expect(error.message).toContain('200 ms (timeoutMs)');
    });

    it('stops the request when the refresh context signal aborts', async () => {
      const server = await tokenEndpoint(() => ({ hang: true }));
      const controller = new AbortController();
      const pending = refreshTokenGrant({ tokenUrl: server.url, clientId: 'app' })(CURRENT, context(controller.signal));
      while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      const error = await failureOf(pending);
      expect(error.code).toBe('REFRESH_FAILED');
      expect(error.message).toContain('aborted');
    });

    it('fails with SESSION_EXPIRED, without a request, when there is no refresh token', async () => {
      const server = await tokenEndpoint(() => ok());
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }, { accessToken: 'at' }));
      expect(error.code).toBe('SESSION_EXPIRED');
      expect(server.requests).toHaveLength(0);
    });
  });

  describe('secrets', () => {
    const secret = 'S3cr3t-%&+:/?#';
    const refreshToken = 'rt-Very-Secret-Value';

    it.each<[string, Handler | 'down', Partial<RefreshTokenGrantOptions>]>([
      [
        'invalid_client',
        () => ({ status: 401, body: { error: 'invalid_client', error_description: 'bad secret' } }),
        {},
      ],
      [
        'an error_description echoing the refresh token and secret',
        () => ({
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: `token ${refreshToken} (${encodeURIComponent(refreshToken)}) with ${secret} rejected`,
            error_uri: `https://x/?t=${refreshToken}`,
          },
        }),
        {},
      ],
      ['a network error', 'down', {}],
      ['a timeout', () => ({ hang: true }), { timeoutMs: 150 }],
      ['a 500', () => ({ status: 500, body: 'oops' }), { authMethod: 'client_secret_post' }],
    ])('never shows the secret or a token on %s: message, String, JSON, toJSON, inspect', async (_, handler, extra) => {
      const server = await tokenEndpoint(handler === 'down' ? () => ok() : handler);
      if (handler === 'down') await server.close();
      const error = await failureOf(
        refreshTokenGrant({ tokenUrl: server.url, clientId: 'app', clientSecret: secret, ...extra })(
          { accessToken: 'at-Very-Secret-Value', refreshToken },
          context(),
        ),
      );
      const shown = everyRendering(error);
      const basic = Buffer.from(`app:${encodeURIComponent(secret)}`).toString('base64');
      for (const needle of [
        secret,
        encodeURIComponent(secret),
        refreshToken,
        'at-Very-Secret-Value',
        basic,
        'Basic ',
      ]) {
        expect(shown).not.toContain(needle);
      }
    });

    it('redacts the refresh token from error_description but keeps the rest', async () => {
      const server = await tokenEndpoint(() => ({
        status: 400,
        body: { error: 'invalid_grant', error_description: `refresh token ${refreshToken} not found` },
      }));
      const error = await failureOf(refreshWith({ tokenUrl: server.url, clientId: 'app' }, { refreshToken }));
      expect(error.oauthErrorDescription).toBe('refresh token [redacted] not found');
      expect(error.message).toContain('refresh token [redacted] not found');
    });
  });

  describe('option validation', () => {
    const base = { tokenUrl: 'https://auth.example/token', clientId: 'app' };

    it.each([
      [{ ...base, tokenUrl: 'not a url' }, 'Expected `tokenUrl` to be an absolute URL, got `not a url` (string)'],
      [{ ...base, tokenUrl: 42 }, 'Expected `tokenUrl` to be an absolute URL, got `42` (number)'],
      [{ ...base, tokenUrl: 'ftp://auth.example/token' }, 'Expected `tokenUrl` to be an https: URL, got `ftp:`'],
      [{ ...base, tokenUrl: 'https://app:pw@auth.example/token' }, 'Expected `tokenUrl` to contain no credentials'],
      [{ ...base, clientId: '' }, 'Expected `clientId` to be a non-empty string, got an empty string'],
      [{ ...base, clientId: undefined }, 'Expected `clientId` to be a non-empty string, got `undefined`'],
      [
        { ...base, clientSecret: '' },
        'Expected `clientSecret` to be a non-empty string or undefined, got an empty string',
      ],
      [
        { ...base, clientSecret: 7 },
        'Expected `clientSecret` to be a non-empty string or undefined, got a value of type number',
      ],
      [
        { ...base, authMethod: 'private_key_jwt' },
        "Expected `authMethod` to be one of 'client_secret_basic', 'client_secret_post', 'none', got `private_key_jwt` (string)",
      ],
      [
        { ...base, authMethod: 'client_secret_post' },
        "Expected `clientSecret` to be a non-empty string with `authMethod: 'client_secret_post'`, got `undefined`",
      ],
      [
        { ...base, authMethod: 'none', clientSecret: 'x' },
        "Expected `clientSecret` to be undefined with `authMethod: 'none'`",
      ],
      [
        { ...base, clientSecret: 'x', basicAuthEncoding: 'latin1' },
        "Expected `basicAuthEncoding` to be one of 'form-urlencoded', 'raw', got `latin1` (string)",
      ],
      [
        { ...base, scope: '' },
        'Expected `scope` to be a non-empty space-separated string or a list of scope names, got an empty string',
      ],
      [
        { ...base, scope: ['a b'] },
        'Expected `scope` to be a non-empty space-separated string or a list of scope names, got an array',
      ],
      [
        { ...base, extraParams: { grant_type: 'password' } },
        'Expected `extraParams` not to set `grant_type`: refreshTokenGrant sets it',
      ],
      [
        { ...base, extraParams: { scope: 'x' } },
        'Expected `extraParams` not to set `scope`: refreshTokenGrant sets it; use the `scope` option',
      ],
      [
        { ...base, extraParams: { audience: 1 } },
        'Expected `extraParams.audience` to be a string or a list of strings, got `1` (number)',
      ],
      [{ ...base, timeoutMs: -1 }, 'Expected `timeoutMs` to be a finite number > 0, got `-1` (number)'],
      [
        { ...base, timeoutMs: Number.POSITIVE_INFINITY },
        'Expected `timeoutMs` to be a finite number > 0, got `Infinity` (number)',
      ],
      [{ ...base, maxRetryAfterMs: -1 }, 'Expected `maxRetryAfterMs` to be a finite number >= 0, got `-1` (number)'],
      [{ ...base, headers: { DPoP: 'x' } }, 'Expected `headers` to be a function, got a value of type object'],
      [{ ...base, axios: {} }, 'Expected `axios` to be an axios instance, got a value of type object'],
      [{ ...base, allowInsecureHttp: 'yes' }, 'Expected `allowInsecureHttp` to be a boolean, got `yes` (string)'],
    ])('throws a TypeError for %o', (options, message) => {
      expect(() => refreshTokenGrant(options as unknown as RefreshTokenGrantOptions)).toThrow(TypeError);
      expect(() => refreshTokenGrant(options as unknown as RefreshTokenGrantOptions)).toThrow(message);
    });

    it('refuses a plain http: token URL on a non-loopback host, saying why and how to opt out', () => {
      expect(() => refreshTokenGrant({ tokenUrl: 'http://auth.example/token', clientId: 'app' })).toThrow(
        /Expected `tokenUrl` to be an https: URL, got `http:\/\/auth\.example\/token`: plain http: would send .*`allowInsecureHttp: true`/,
      );
      expect(() => refreshTokenGrant({ tokenUrl: 'http://10.0.0.5/token', clientId: 'app' })).toThrow(TypeError);
    });

    it.each(['http://localhost:8080/token', 'http://127.0.0.1/token', 'http://[::1]:9000/token'])(
      'accepts plain http: on loopback: %s',
      (tokenUrl) => {
        expect(typeof refreshTokenGrant({ tokenUrl, clientId: 'app' })).toBe('function');
      },
    );

    it('accepts plain http: anywhere with allowInsecureHttp: true, and a URL object', () => {
      expect(
        typeof refreshTokenGrant({ tokenUrl: 'http://auth.dev.lan/token', clientId: 'app', allowInsecureHttp: true }),
      ).toBe('function');
      expect(typeof refreshTokenGrant({ tokenUrl: new URL('https://auth.example/token'), clientId: 'app' })).toBe(
        'function',
      );
    });

    it('never prints the client secret in an option error', () => {
      const secret = 'do-not-print-me';
      let message = '';
      try {
        refreshTokenGrant({ ...base, clientSecret: secret, authMethod: 'none' });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain('clientSecret');
      expect(message).not.toContain(secret);
    });
  });

  describe('with attachRefresh on the same instance', () => {
    it('sends the token request past the plugin: no bearer token, and its 401 does not start another refresh', async () => {
      const server = await tokenEndpoint((request) =>
        request.path === '/oauth/token'
          ? { status: 401, body: { error: 'invalid_client' } }
          : { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' }, body: {} },
      );
      const api = axios.create({ baseURL: server.origin });
      const attached = attachRefresh(api, {
        tokens: { accessToken: 'at-old', refreshToken: 'rt-old' },
        refresh: refreshTokenGrant({ tokenUrl: server.url, clientId: 'app', clientSecret: 's', axios: api }),
      });
      const error = await failureOf(api.get('/me'));
      expect(error.code).toBe('CONFIGURATION_ERROR');
      const tokenRequests = server.requests.filter((r) => r.path === '/oauth/token');
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0]?.headers.authorization).toMatch(/^Basic /);
      expect(attached.getTokens()?.refreshToken).toBe('rt-old');
    });
  });
});
