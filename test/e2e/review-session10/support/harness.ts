// Harness for the idb-review break-it tests: one HTTP server on 127.0.0.1 (the page, its bundle, a token endpoint with
// rotation and reuse detection, a protected API, and a logout page that answers `Clear-Site-Data: "storage"`), and a
// real Chromium (Debian's /usr/bin/chromium) whose tabs run the package source bundled by esbuild.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../support/chromium.js';
import type { F, SessionConfig } from './entry.js';

declare global {
  var f: F;
}

export interface Presented {
  readonly refreshToken: string;
  readonly client: string;
  readonly outcome: 'rotated' | 'reused' | 'unknown';
}

export interface Server {
  readonly url: string;
  /** Every refresh token presented at /token, in order. */
  readonly presented: Presented[];
  /** Whether a spent refresh token was presented (the grant is then revoked). */
  revoked(): boolean;
  /** Delays the token endpoint's answers. */
  setRefreshDelay(ms: number): void;
  /** Called when a refresh request arrives (before the delay). */
  onRefresh?: ((client: string) => void) | undefined;
  /** How many times /logout was served. */
  logouts(): number;
  /** Makes the current access token expire: the API answers 401 until the next refresh. */
  expireAccess(): void;
  /** Ends the grant and starts a new one (a new login): its tokens, the access token already expired. */
  newGrant(): { accessToken: string; refreshToken: string };
  close(): Promise<void>;
}

/**
 * The page script, bundled. `FOUND_SRC` (a folder holding another checkout's `src/`, e.g. the commit before) bundles
 * that source instead, to compare.
 */
async function bundle(): Promise<string> {
  const { build } = await import('esbuild');
  const root = fileURLToPath(new URL('../../../../src/', import.meta.url));
  const other = process.env.FOUND_SRC;
  const result = await build({
    plugins: other
      ? [
          {
            name: 'other-src',
            setup(b) {
              b.onResolve({ filter: /src\// }, (args) => {
                const path = fileURLToPath(new URL(args.path, `file://${args.resolveDir}/`)).replace(/\.js$/, '.ts');
                return path.startsWith(root) ? { path: other + path.slice(root.length - 1) } : undefined;
              });
            },
          },
        ]
      : [],
    entryPoints: [fileURLToPath(new URL('./entry.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

export async function startServer(code: string): Promise<Server> {
  let generation = 0;
  let grant = 1;
  let current = 'refresh-0';
  let access: string | undefined;
  let isRevoked = false;
  let delayMs = 0;
  let logouts = 0;
  const spent = new Set<string>();
  const presented: Presented[] = [];
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'POST' && path === '/token') {
      void (async () => {
        const form = new URLSearchParams(await readBody(req));
        const token = form.get('refresh_token') ?? '';
        const client = String(req.headers['x-client'] ?? '');
        self.onRefresh?.(client);
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (!isRevoked && token === current) {
          spent.add(token);
          generation += 1;
          const prefix = grant === 1 ? '' : `g${grant}-`;
          current = `${prefix}refresh-${generation}`;
          access = `${prefix}access-${generation}`;
          presented.push({ refreshToken: token, client, outcome: 'rotated' });
          send(res, 200, { access_token: access, refresh_token: current, token_type: 'Bearer', expires_in: 300 });
          return;
        }
        if (spent.has(token)) {
          isRevoked = true;
          access = undefined;
        }
        presented.push({ refreshToken: token, client, outcome: spent.has(token) ? 'reused' : 'unknown' });
        send(res, 400, { error: 'invalid_grant' });
      })().catch(() => res.destroy());
      return;
    }
    if (path.startsWith('/api/')) {
      if (access !== undefined && req.headers.authorization === `Bearer ${access}`) send(res, 200, { path });
      else send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    if (path === '/logout') {
      logouts += 1;
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store', 'clear-site-data': '"storage"' });
      res.end('<!doctype html><title>logged out</title>');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
      res.end('<!doctype html><meta charset="utf-8"><title>found</title><script src="/bundle.js"></script>');
      return;
    }
    if (path === '/embed') {
      // A page of another site (open it as http://localhost:<port>/embed) embedding the app (the iframe's src).
      const src = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('src') ?? '';
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
      res.end(`<!doctype html><title>embedder</title><iframe src="${src.replace(/"/g, '')}"></iframe>`);
      return;
    }
    if (path === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
      res.end(code);
      return;
    }
    send(res, 404, { error: 'not_found' });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const self: Server = {
    url: `http://127.0.0.1:${port}`,
    presented,
    revoked: () => isRevoked,
    setRefreshDelay: (ms) => (delayMs = ms),
    onRefresh: undefined,
    logouts: () => logouts,
    expireAccess: () => {
      access = undefined;
    },
    newGrant: () => {
      grant += 1;
      generation = 0;
      current = `g${grant}-refresh-0`;
      access = undefined;
      return { accessToken: `g${grant}-access-0`, refreshToken: current };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return self;
}

export interface Harness {
  browser: Browser;
  context: BrowserContext;
  server: Server;
  /** A new tab on the page (nothing started in it). */
  page(): Promise<Page>;
  /** A new tab with a session (attachRefresh + browser store on indexedDbStorage) started. */
  session(config: SessionConfig): Promise<Page>;
  close(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const server = await startServer(await bundle());
  const browser = await launchChromium();
  const context = await browser.newContext();
  const page = async () => {
    const tab = await context.newPage();
    await tab.goto(`${server.url}/`);
    return tab;
  };
  return {
    browser,
    context,
    server,
    page,
    async session(config) {
      const tab = await page();
      await tab.evaluate((c) => globalThis.f.start(c), config);
      return tab;
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
