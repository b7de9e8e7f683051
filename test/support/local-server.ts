import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/** A node:http server listening on a free port of 127.0.0.1 (or the given host name, which must resolve locally). */
export interface LocalServer {
  /** `http://<host>:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Closes the server and every connection still open, so that a test never leaves a socket behind. */
  close(): Promise<void>;
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  urlHost = '127.0.0.1',
): Promise<LocalServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The refresh token of a token request, sent as a form (`refresh_token`) or as JSON (`refreshToken`). */
export function refreshTokenOf(req: IncomingMessage, body: string): string | undefined {
  if (String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams(body).get('refresh_token') ?? undefined;
  }
  try {
    return (JSON.parse(body) as { refreshToken?: string }).refreshToken;
  } catch {
    return undefined;
  }
}

/** Closes every server in `servers` (and their open connections), emptying the list: an `afterEach` for tests. */
export async function closeAll(servers: import('node:http').Server[]): Promise<void> {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}

/**
 * What a test file undoes after each test: the servers `serve` started (each handler gets the request body, read) and
 * the clean-ups given to `later`. Call `undo()` in `afterEach`.
 */
export function testPool(): {
  serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<LocalServer>;
  later(cleanup: () => void | Promise<void>): void;
  undo(): Promise<void>;
} {
  const servers: LocalServer[] = [];
  const cleanups: Array<() => void | Promise<void>> = [];
  return {
    async serve(handler) {
      const server = await listen((req, res) => {
        void readBody(req).then((body) => handler(req, res, body));
      });
      servers.push(server);
      return server;
    },
    later: (cleanup) => void cleanups.push(cleanup),
    undo: async () => {
      await Promise.all([...servers.splice(0).map((server) => server.close()), ...cleanups.splice(0).map((f) => f())]);
    },
  };
}

/**
 * Registers an `afterEach` that closes every server the test started, and returns the function that starts one (as
 * {@link listen}).
 */
export function serveEach(): (handler: (req: IncomingMessage, res: ServerResponse) => void) => Promise<LocalServer> {
  const servers: LocalServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return async (handler) => {
    const server = await listen(handler);
    servers.push(server);
    return server;
  };
}
