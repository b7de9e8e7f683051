// The catalogue's servers, for the Node suite and the Chromium suite (which serves its test page from the allowed one).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { BEARER, TOKENS, type Arrival, type Destination, type Ports } from './scope-catalogue.js';

/**
 * Two real servers on 127.0.0.1 record every request that reaches them, under which Host and with which
 * Authorization. Only `api.localhost:<allowed port>` is the allowed origin: the same server under another name, and
 * the other server, answer 401 with a Bearer challenge, so a token that reached them would start a refresh.
 */
export interface LoopbackServers extends Ports {
  readonly arrivals: Arrival[];
  close(): Promise<void>;
}

export async function startLoopbackServers(
  routes: Readonly<Record<string, { type: string; body: string }>> = {},
): Promise<LoopbackServers> {
  const arrivals: Arrival[] = [];
  let allowedHost = '';
  const handler = (server: Arrival['server']) => (req: IncomingMessage, res: ServerResponse) => {
    // Permissive CORS, so that a browser really sends a cross-origin request and lets the page read the 401.
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Expose-Headers', 'www-authenticate');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const route = server === 'allowed' && req.headers.host === allowedHost ? routes[req.url ?? ''] : undefined;
    if (route !== undefined) {
      res.writeHead(200, { 'content-type': route.type }).end(route.body);
      return;
    }
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to');
    if (server === 'allowed' && req.headers.host === allowedHost && to !== null) {
      // A redirect the Node adapter follows itself: the plugin's guard decides on the target like on a request.
      res.writeHead(302, { location: to }).end();
      return;
    }
    const authorization = req.headers.authorization;
    arrivals.push({ server, host: req.headers.host ?? '', authorization });
    if (server === 'allowed' && req.headers.host === allowedHost) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    }
  };
  const servers = [createServer(handler('allowed')), createServer(handler('evil'))];
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve) =>
          server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
        ),
    ),
  );
  const [allowedPort, evilPort] = ports as [number, number];
  allowedHost = `api.localhost:${allowedPort}`;
  return {
    allowedPort,
    evilPort,
    arrivals,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}

/** Checks what arrived for one row against where it must go. The first check is the one that matters for security. */
export function checkArrivals(arrivals: readonly Arrival[], ports: Ports, goes: Destination): void {
  const allowedHost = `api.localhost:${ports.allowedPort}`;
  const atAllowed = (arrival: Arrival) => arrival.server === 'allowed' && arrival.host.toLowerCase() === allowedHost;
  // A URL's own userinfo becomes Basic credentials: the app's doing, not the token's.
  const token = (arrival: Arrival) => arrival.authorization?.includes(TOKENS.accessToken) === true;
  expect(arrivals.filter((arrival) => !atAllowed(arrival) && token(arrival))).toEqual([]);
  const where = arrivals.map((arrival) =>
    atAllowed(arrival) ? `allowed ${arrival.authorization ?? 'bare'}` : 'other',
  );
  const expected = { allowed: [`allowed ${BEARER}`], 'allowed-bare': ['allowed bare'], other: ['other'], nowhere: [] }[
    goes
  ];
  expect(where).toEqual(expected);
}
