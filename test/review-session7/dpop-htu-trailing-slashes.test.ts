/**
 * Session 7 break-it review.
 * Finding: the DPoP request interceptor joins `baseURL` and `url` with its own copy of axios's combineURLs that drops
 * at most two trailing slashes of `baseURL`; the installed axios (1.21) drops all of them. With `baseURL` ending in
 * `///`, the proof's `htu` (`/v1//items`) is not the URL requested (`/v1/items`), and an API that checks `htu`
 * refuses every request. src/scope.ts knows of the difference (its `joined` checks both); src/dpop.ts does not.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import { createDpop } from '../../src/dpop.js';

let server: ReturnType<typeof createServer>;
let origin = '';
const seen: Array<{ requested: string; htu: unknown }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const proof = req.headers['dpop'];
    const htu =
      typeof proof === 'string'
        ? (JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString('utf8')) as { htu?: unknown }).htu
        : undefined;
    const requested = `${origin}${(req.url ?? '/').split('?')[0]}`;
    seen.push({ requested, htu });
    res.writeHead(htu === requested ? 200 : 401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('DPoP htu and axios’s URL joining', () => {
  it('signs the URL axios requests when baseURL ends with three slashes', async () => {
    const api = axios.create({ baseURL: `${origin}/v1///` });
    attachRefresh(api, {
      tokens: { accessToken: 'at-1', tokenType: 'DPoP' },
      dpop: await createDpop(),
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP' }),
    });
    await api.get('items', { validateStatus: () => true });
    const first = seen[0];
    expect(first?.requested).toBe(`${origin}/v1/items`);
    expect(first?.htu).toBe(first?.requested); // fails: htu is `${origin}/v1//items`
  });
});
