/**
 * s9 DPoP break-it review.
 * Finding: with axios's `fetch` adapter (Node's, or a browser app that sets `adapter: 'fetch'`), a `DPoP-Nonce` sent
 * by the TARGET of a cross-origin redirect is filed under the origin that redirected, and the next proof to that
 * origin carries the other origin's value. RFC 9449 §8: a nonce belongs to the server that issued it. The same test
 * with the http adapter passes (review-dpop.test.ts): there follow-redirects reports the final URL.
 * docs/dpop.md:152 only says "(Node and XHR report it)", which a reader takes to mean the http adapter of Node.
 *
 * Cost: any origin an in-scope endpoint redirects to (an open redirect, a CDN, a login page) chooses the nonce the
 * app signs into its next proofs for the API; the API answers them use_dpop_nonce (a wasted round trip each).
 *
 * Likely cause: src/dpop.ts `answeredBy` falls back to the requested URL when `response.request` is the fetch
 * adapter's `Request` (no `responseURL`); the final `Response.url` is never seen. Either get it (e.g. wrap the
 * adapter's fetch through `config.env.fetch`) or do not file a nonce whose origin is unknown.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(host: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

const nonceOf = (proof: unknown): unknown =>
  typeof proof === 'string'
    ? (JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString('utf8')) as { nonce?: unknown }).nonce
    : undefined;
const future = (): number => Date.now() + 3_600_000;

describe('the nonce cache is per origin, with the fetch adapter too (RFC 9449 §8)', () => {
  it('does not file a nonce sent by a redirect target on another origin under the origin that redirected', async () => {
    // Another origin (localhost, not 127.0.0.1), outside the instance's scope.
    const other = await serve('localhost', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'DPoP-Nonce': 'chosen-by-the-other-origin' }).end('{}');
    });
    const apiNonces: unknown[] = [];
    const api = await serve('127.0.0.1', (req, res) => {
      apiNonces.push(nonceOf(req.headers['dpop']));
      if (req.url === '/moved') {
        res.writeHead(302, { Location: `${other}/landing` }).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api, adapter: 'fetch' });
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() },
      refresh: async () => ({ accessToken: 'at-2', tokenType: 'DPoP', expiresAt: future() }),
      dpop,
    });

    await instance.get('/moved');
    await instance.get('/next');

    // Today: 'chosen-by-the-other-origin', and the proof of GET /next carries it.
    expect(dpop.nonce(api)).toBeUndefined();
    expect(apiNonces).toEqual([undefined, undefined]);
  });
});
