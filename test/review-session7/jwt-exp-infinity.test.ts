/**
 * Session 7 break-it review.
 * Finding: `expires_in` is bounded ("so large that the expiry is past any date: INVALID_TOKEN_RESPONSE"), but an
 * access token's JWT `exp` is not: `exp: 1e308` decodes to `expiresAt: Infinity` (src/tokens.ts jwtExpiry checks that
 * `exp` is finite, not `exp * 1000`). The session adopts that TokenSet, which no shared store can write (JSON has no
 * Infinity; the file store refuses it as "not a TokenSet"), so the rotated refresh token is never recorded: the next
 * process reads the spent one and presents it again, which a server with reuse detection answers by revoking the
 * login. With the in-memory store, `onTokens` gets a TokenSet whose JSON (`expiresAt: null`) the `tokens` loader
 * later refuses (TOKENS_LOAD_FAILED).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh, refreshTokenGrant } from '../../src/index.js';
import { createFileTokenStore } from '../../src/file.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An unsigned JWT-shaped access token whose `exp` is a number too large for epoch milliseconds. */
const jwt = (n: number): string => `${b64({ alg: 'none' })}.${b64({ exp: 1e308, n })}.sig`;

let server: ReturnType<typeof createServer>;
let origin = '';
/** Every refresh token presented to the token endpoint, in order. */
const presented: string[] = [];
let issued = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/token') {
        presented.push(new URLSearchParams(body).get('refresh_token') ?? '');
        issued += 1;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        // No expires_in: the plugin falls back to the JWT's exp, as documented.
        res.end(JSON.stringify({ access_token: jwt(issued), token_type: 'Bearer', refresh_token: `rt-${issued}` }));
        return;
      }
      res.writeHead(req.headers.authorization ? 200 : 401).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function processSharingTheFile(path: string) {
  const api = axios.create({ baseURL: origin });
  const auth = attachRefresh(api, {
    tokens: { refreshToken: 'rt-0' },
    store: createFileTokenStore({ path }),
    refresh: refreshTokenGrant({ tokenUrl: `${origin}/token`, clientId: 'cli' }),
  });
  const errors: string[] = [];
  auth.on('refreshError', (error) => errors.push(error.code));
  return { api, auth, errors };
}

describe('a JWT access token whose exp is past any date', () => {
  it('never leaves the spent refresh token in the shared store for the next process to present again', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'h1-exp-')), 'tokens.json');
    const first = processSharingTheFile(path);
    await first.api.get('/me');
    const second = processSharingTheFile(path);
    await second.api.get('/me');
    // What happened: first refreshed (rt-0 -> rt-1) but could not record it (STORE_FAILED), the file still holds rt-0,
    // and second presented rt-0 a second time.
    expect({ presented, firstErrors: first.errors, file: JSON.parse(readFileSync(path, 'utf8')) }).toMatchObject({
      presented: ['rt-0'], // fails: ['rt-0', 'rt-0']
      firstErrors: [],
    });
  });

  it('hands onTokens a TokenSet that survives JSON (what saveTokens stores and loadTokens returns)', async () => {
    const saved: string[] = [];
    const api = axios.create({ baseURL: origin });
    attachRefresh(api, {
      tokens: { refreshToken: 'rt-x' },
      refresh: refreshTokenGrant({ tokenUrl: `${origin}/token`, clientId: 'cli' }),
      onTokens: (tokens) => void saved.push(JSON.stringify(tokens)),
    });
    await api.get('/me');
    const restored = JSON.parse(saved[0] ?? 'null') as { expiresAt?: unknown };
    expect(restored.expiresAt === undefined || typeof restored.expiresAt === 'number').toBe(true); // fails: null
    const later = axios.create({ baseURL: origin });
    attachRefresh(later, {
      tokens: () => JSON.parse(saved[0] ?? 'null'),
      refresh: refreshTokenGrant({ tokenUrl: `${origin}/token`, clientId: 'cli' }),
    });
    await expect(later.get('/me')).resolves.toMatchObject({ status: 200 });
  });
});
