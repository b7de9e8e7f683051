/**
 * s9 DPoP break-it review.
 * Finding: the proof is made in a request interceptor that `attachRefresh` installs, and axios runs request
 * interceptors last-registered-first: every request interceptor the app registered BEFORE `attachRefresh` runs AFTER
 * the proof was signed. One that rewrites the URL (an API version prefix, a tenant `baseURL`) or the method (a
 * method-override shim) sends the request somewhere the proof does not name: `htu`/`htm` are the URL and method from
 * before the app's interceptor, and a resource server that checks them (RFC 9449 §4.3 steps 8-9) refuses every such
 * request with 401 `invalid_dpop_proof`. docs/dpop.md says `htu` is "the URL axios really requests"; nothing says to
 * attach before adding interceptors. (The send guard already knows these interceptors exist and re-checks the scope
 * in `transformRequest`, but a proof cannot be re-signed there: it is synchronous.)
 *
 * Likely cause: src/dpop.ts `install` / `signRequest` sign in a request interceptor instead of at the last async step
 * before the adapter (e.g. wrapping `config.adapter`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh } from '../../src/attach.js';
import { createDpop } from '../../src/dpop.js';
import { verifyProof } from '../support/dpop-verifier.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A resource server that checks every proof as RFC 9449 §4.3 says, against the request it really received. */
async function resourceServer() {
  const refused: string[] = [];
  const seenJtis = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const accessToken = /^DPoP (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const result = await verifyProof(req.headers['dpop'], {
        method: req.method ?? 'GET',
        url: `http://${req.headers.host}${req.url}`,
        ...(accessToken === undefined ? {} : { accessToken }),
        seenJtis,
      });
      if (!result.ok) {
        refused.push(`${req.method} ${req.url}: ${result.reason}`);
        res.writeHead(401, { 'WWW-Authenticate': `DPoP algs="ES256", error="${result.error}"` }).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    })();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused };
}

const future = (): number => Date.now() + 3_600_000;

describe('a proof names the request the adapter sends, whatever the app’s own request interceptors changed', () => {
  it('signs the URL and method after an interceptor registered before attachRefresh rewrote them', async () => {
    const api = await resourceServer();
    const dpop = await createDpop();
    const instance = axios.create({ baseURL: api.origin });
    // The app's interceptors, set up with the instance, before the plugin is attached.
    instance.interceptors.request.use((config) => {
      config.url = `/v2${config.url ?? ''}`;
      return config;
    });
    instance.interceptors.request.use((config) => {
      if (config.method === 'delete') {
        config.method = 'post';
        config.headers.set('X-HTTP-Method-Override', 'DELETE');
      }
      return config;
    });
    let refreshes = 0;
    attachRefresh(instance, {
      tokens: { accessToken: 'at-1', refreshToken: 'rt-1', tokenType: 'DPoP', expiresAt: future() },
      dpop,
      refresh: async () => {
        refreshes += 1;
        return { accessToken: `at-${refreshes + 1}`, tokenType: 'DPoP', expiresAt: future() };
      },
    });

    const statuses = await Promise.all(
      [instance.get('/items'), instance.delete('/items/1')].map((request) =>
        request.then(
          (response) => response.status,
          (error: unknown) => (axios.isAxiosError(error) ? (error.response?.status ?? error.code) : String(error)),
        ),
      ),
    );

    // Today: [401, 401]; refused: "GET /v2/items: htu http://…/items != http://…/v2/items", "POST /v2/items/1: htm".
    expect(api.refused).toEqual([]);
    expect(statuses).toEqual([200, 200]);
    expect(refreshes).toBe(0);
  });
});
