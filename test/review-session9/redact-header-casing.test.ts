/**
 * Found (s9 trust review): the redaction of `error.config` (docs/errors.md, Redaction: "its `error.config` carries
 * `Authorization: Bearer [REDACTED]`") misses the token when the app's headers spell the name in another case
 * (`AUTHORIZATION`, `AuthoriZation`: header names are case-insensitive, and AxiosHeaders keeps the first spelling it
 * saw). src/attach.ts `setHeader` deletes only `authorization` and writes `Authorization`; on sending, axios's
 * `AxiosHeaders#normalize` folds our `Authorization` into the app's key, so the live token ends up under the app's
 * spelling, and `redactConfig` then adds a second, redacted `Authorization` beside it. `console.log(error.config)`,
 * `JSON.stringify(error.config.headers)` print the live token.
 *
 * The token is sent correctly (the app's value is replaced), but the redaction fails, and so does the strip of
 * `leftAlone` ("a config replayed onto another origin must not keep a token we attached earlier"): a response's
 * config sent on to another origin through the instance (`api.request({ ...res.config, url: nextLink })`) carries the
 * live token there. A fix: delete every key that matches /^authorization$/i (AxiosHeaders#delete does,
 * case-insensitively) before writing, in `setHeader`.
 */
import { inspect } from 'node:util';
import axios, { type AxiosError } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import { listen, type LocalServer } from '../support/local-server.js';

const ACCESS = 'access-secret-77c1e0';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe.each(['AUTHORIZATION', 'AuthoriZation'])('an app header spelt %s', (name) => {
  it.each(['instance defaults (headers.common)', 'the request'])(
    'set in %s: a failed request’s error.config holds no live token',
    async (where) => {
      const arrived: (string | undefined)[] = [];
      const server = await listen((req, res) => {
        arrived.push(req.headers.authorization);
        res.writeHead(500);
        res.end();
      });
      servers.push(server);
      const api = axios.create({ baseURL: server.url });
      if (where.startsWith('instance')) api.defaults.headers.common[name] = 'Basic placeholder';
      attachRefresh(api, {
        tokens: { accessToken: ACCESS, refreshToken: 'refresh-secret-1' },
        refresh: async () => ({ accessToken: 'access-2' }),
      });
      const error = (await api
        .get('/x', where === 'the request' ? { headers: { [name]: 'Basic placeholder' } } : {})
        .catch((e: unknown) => e)) as AxiosError;
      // The plugin's token went out (the app's value replaced): sending is right.
      expect(arrived).toEqual([`Bearer ${ACCESS}`]);
      expect(error.response?.status).toBe(500);
      expect(JSON.stringify(error.config?.headers)).not.toContain(ACCESS);
      expect(inspect(error)).not.toContain(ACCESS);
    },
  );
});

describe('the same spelling, a response’s config sent on to another origin (a `next` link on a CDN)', () => {
  it('carries no token there: a config replayed onto another origin loses the token we attached (src/attach.ts leftAlone)', async () => {
    const arrived: { server: string; authorization: string | undefined }[] = [];
    const own = await listen((req, res) => {
      arrived.push({ server: 'own', authorization: req.headers.authorization });
      res.writeHead(200);
      res.end('page 1');
    });
    const other = await listen((req, res) => {
      arrived.push({ server: 'other', authorization: req.headers.authorization });
      res.writeHead(200);
      res.end('page 2');
    });
    servers.push(own, other);
    const api = axios.create({ baseURL: own.url });
    api.defaults.headers.common['AUTHORIZATION'] = 'Basic placeholder';
    attachRefresh(api, {
      tokens: { accessToken: ACCESS, refreshToken: 'refresh-secret-1' },
      refresh: async () => ({ accessToken: 'access-2' }),
    });
    const first = await api.get('/items');
    // The control (docs/scope.md): a request to another origin through the instance gets no token.
    await api.request({ ...first.config, url: `${other.url}/items?page=2` });
    expect(arrived[0]).toEqual({ server: 'own', authorization: `Bearer ${ACCESS}` });
    expect(arrived[1]?.server).toBe('other');
    expect(arrived[1]?.authorization ?? '').not.toContain(ACCESS);
  });
});
