/**
 * Session 7 review (h2, medium): the `allowedOrigins` function is typed and documented as `(origin, config) => boolean`, with
 * `config` the request's InternalAxiosRequestConfig (docs/api.md "allowedOrigins"). When a 401 comes back, the
 * plugin asks it again (answeredInScope) with a fake config `{ url }` only. A function that looks at the config it
 * was promised (the method, a header) says "no" for the response it said "yes" for: the token was sent, but its
 * 401 never refreshes, so every request to that origin fails once the token expires.
 */
import axios from 'axios';
import type { InternalAxiosRequestConfig } from 'axios';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import { listen, type LocalServer } from '../support/local-server.js';

let files: LocalServer;

beforeEach(async () => {
  vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  // The allowed origin: accepts only the refreshed token.
  files = await listen((req, res) => {
    if (req.headers.authorization === 'Bearer AT-2') res.writeHead(200).end('ok');
    else res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await files.close();
});

it.each([
  ['reads config.method', (config: InternalAxiosRequestConfig) => config.method === 'get'],
  ['reads a request header', (config: InternalAxiosRequestConfig) => config.headers.has('x-files')],
])(
  'an allowedOrigins function that %s: a 401 from the origin it allowed refreshes and is replayed',
  async (_name, check) => {
    const api = axios.create({ baseURL: 'https://api.example.invalid', adapter: 'http' });
    let refreshes = 0;
    attachRefresh(api, {
      tokens: { accessToken: 'AT-1', refreshToken: 'RT-1' },
      refresh: async () => {
        refreshes += 1;
        return { accessToken: 'AT-2' };
      },
      allowedOrigins: (origin, config) => origin === files.url && check(config),
    });
    const response = await api.get(`${files.url}/doc`, { headers: { 'x-files': '1' } });
    expect(response.data).toBe('ok');
    expect(refreshes).toBe(1);
  },
);

it('an allowedOrigins function that reads config.method: a same-origin redirect keeps the token (Node, follow-redirects)', async () => {
  const seen: (string | undefined)[] = [];
  const moved = await listen((req, res) => {
    seen.push(`${req.url} ${req.headers.authorization}`);
    if (req.url === '/old') res.writeHead(302, { location: '/new' }).end();
    else res.writeHead(200).end('ok');
  });
  try {
    const api = axios.create({ baseURL: 'https://api.example.invalid', adapter: 'http' });
    attachRefresh(api, {
      tokens: { accessToken: 'AT-1', refreshToken: 'RT-1' },
      refresh: async () => ({ accessToken: 'AT-2' }),
      allowedOrigins: (origin, config) => origin === moved.url && config.method === 'get',
    });
    expect((await api.get(`${moved.url}/old`)).data).toBe('ok');
    expect(seen).toEqual(['/old Bearer AT-1', '/new Bearer AT-1']);
  } finally {
    await moved.close();
  }
});
