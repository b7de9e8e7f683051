import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh, type TokenSet } from '../../src/index.js';
import { AuthServer } from '../support/auth-server.js';

let http: Server;
let baseURL: string;
let otherURL: string;
let other: Server;
const auth = new AuthServer();
const otherSawAuthorization: (string | undefined)[] = [];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => resolve(body));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  http = createServer((req, res) => {
    void (async () => {
      if (req.url === '/token' && req.method === 'POST') {
        const { refreshToken } = JSON.parse(await readBody(req)) as { refreshToken?: string };
        try {
          json(res, 200, auth.refresh(refreshToken));
        } catch {
          json(res, 400, { error: 'invalid_grant' });
        }
        return;
      }
      if (req.url === '/redirect-away') {
        res.writeHead(302, { location: `${otherURL}/landing` });
        res.end();
        return;
      }
      // A little latency so that concurrent requests really overlap.
      setTimeout(() => {
        if (auth.accepts(req.headers.authorization)) json(res, 200, { path: req.url });
        else {
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
          res.end();
        }
      }, 5);
    })();
  });
  other = createServer((req, res) => {
    otherSawAuthorization.push(req.headers.authorization);
    res.end('ok');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  // Another origin: same host, other port.
  otherURL = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
  await new Promise((resolve) => other.close(resolve));
});

describe('attachRefresh against a real HTTP server on 127.0.0.1', () => {
  it('refreshes once through the same instance for 200 concurrent 401s and replays every request', async () => {
    const api = axios.create({ baseURL });
    const tokens = auth.login();
    auth.expireAccessTokens();
    const before = auth.refreshes;
    const rotated: (TokenSet | null)[] = [];
    attachRefresh(api, {
      tokens,
      refresh: async (current) =>
        (await api.post<TokenSet>('/token', { refreshToken: current.refreshToken }, { skipAuthRefresh: true })).data,
      onTokens: (next) => {
        rotated.push(next);
      },
    });

    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => api.get(`/items/${i}`)));

    expect(results.map((r) => r.status)).toEqual(Array(200).fill(200));
    expect(auth.refreshes - before).toBe(1);
    expect(auth.reused).toEqual([]);
    expect(rotated).toHaveLength(1);
  });

  it('sends only its own token when the app also set a lowercase authorization header', async () => {
    const api = axios.create({ baseURL });
    api.defaults.headers.common['authorization'] = 'Bearer stale-from-the-app';
    const tokens = auth.login();
    attachRefresh(api, { tokens, refresh: async () => ({ accessToken: 'x' }) });
    const seenBefore = auth.seen.length;
    await expect(api.get('/items/one')).resolves.toMatchObject({ status: 200 });
    expect(auth.seen.slice(seenBefore)).toEqual([tokens.accessToken]);
  });

  it('does not let the Authorization header follow a redirect to another origin', async () => {
    const api = axios.create({ baseURL });
    attachRefresh(api, { tokens: auth.login(), refresh: async () => ({ accessToken: 'x' }) });
    await api.get('/redirect-away');
    expect(otherSawAuthorization).toEqual([undefined]);
  });
});
