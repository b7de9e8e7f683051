/**
 * Found (s9 trust review): a `refresh` function of the app's own, written with `fetch` (the recipe for "not OAuth" /
 * a vendor refresh endpoint), throws an error that keeps its request init: a `Headers` with the old access token
 * (vendor refresh endpoints often want it) and a `URLSearchParams` body with the refresh token. docs/errors.md
 * promises that `cause` is "a copy with every token the session knows replaced by `[REDACTED]`" and that no token is
 * in what the app receives.
 *
 * What happens: src/redact.ts `Scrubber` turns a `Headers` / `URLSearchParams` (a class that is not an Error) into a
 * "summary", which holds none of their entries (they live in internal slots), so no text is replaced and
 * `scrubber.changed` stays false, and `scrubSecrets` hands back the ORIGINAL error. `console.log(error)` of the error
 * the request rejects with then prints `headers: Headers { authorization: 'Bearer <access token>' }` at the default
 * depth, and the refresh token one level deeper. The same holds for the `refreshError` payload. (Same root cause, other
 * shapes: a `Promise` resolved with a token, a `String` object, extra properties on an array or a `Date`, a function
 * with properties: all returned untouched.) Separately, a `Buffer`/`Uint8Array` holding a token is passed through
 * as is (`ArrayBuffer.isView` → returned): its bytes are the token's wire spelling.
 */
import { inspect } from 'node:util';
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh, type TokenRefreshError, type TokenSet } from '../../src/index.js';
import { listen, type LocalServer } from '../support/local-server.js';
import { rejection } from '../support/rejection.js';

const ACCESS = 'access-secret-4f1c9a';
const REFRESH = 'refresh-secret-8d2e7b';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function setUp(makeError: (current: TokenSet, init: RequestInit & { headers: Headers }) => unknown) {
  // The API refuses the token; the vendor's refresh endpoint is busy (503: a transient failure, tokens kept).
  const api = await listen((_req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
    res.end();
  });
  const vendor = await listen((_req, res) => {
    res.writeHead(503);
    res.end('busy');
  });
  servers.push(api, vendor);
  const instance = axios.create({ baseURL: api.url });
  const auth = attachRefresh(instance, {
    tokens: { accessToken: ACCESS, refreshToken: REFRESH },
    refresh: async (current) => {
      const init = {
        method: 'POST',
        headers: new Headers({ authorization: `Bearer ${current.accessToken}` }),
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
      };
      const response = await fetch(`${vendor.url}/oauth/refresh`, init);
      if (!response.ok) throw makeError(current, init);
      return (await response.json()) as TokenSet;
    },
  });
  const reported: TokenRefreshError[] = [];
  auth.on('refreshError', (error) => reported.push(error));
  const error = await rejection(instance.get('/me'));
  return { error, reported };
}

const printed = (value: unknown, depth: number | null = 2): string => inspect(value, { depth });

describe('errors thrown by the app’s own fetch-based refresh are scrubbed (docs/errors.md, Redaction)', () => {
  it('console.log of the request’s error shows no access token when the thrown error keeps its fetch Headers', async () => {
    const { error, reported } = await setUp((_current, init) =>
      Object.assign(new Error('refresh failed: HTTP 503'), { status: 503, init }),
    );
    expect(error.code).toBe('REFRESH_FAILED');
    // What `console.log(error)` prints (default depth 2).
    expect(printed(error)).not.toContain(ACCESS);
    expect(printed(reported[0])).not.toContain(ACCESS);
  });

  it('no token at any depth: neither the Headers’ access token nor the URLSearchParams’ refresh token', async () => {
    const { error, reported } = await setUp((_current, init) =>
      Object.assign(new Error('refresh failed: HTTP 503'), { status: 503, init }),
    );
    for (const value of [error, reported[0]]) {
      const text = printed(value, null);
      expect(text).not.toContain(ACCESS);
      expect(text).not.toContain(REFRESH);
    }
  });

  it('a refresh token kept as bytes (the request body as a Uint8Array) does not come back in the cause', async () => {
    const { error } = await setUp((current) =>
      Object.assign(new Error('refresh failed: HTTP 503'), {
        body: new TextEncoder().encode(`grant_type=refresh_token&refresh_token=${current.refreshToken}`),
      }),
    );
    const body = (error.cause as { body?: unknown } | undefined)?.body;
    const bytes = body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : String(body);
    expect(bytes).not.toContain(REFRESH);
  });
});
