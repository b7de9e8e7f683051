import axios, { type AxiosAdapter, type CreateAxiosDefaults } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attachRefresh } from '../src/index.js';
import { BEARER, catalogue, runRow, type SentRow } from './support/scope-catalogue.js';
import { checkArrivals, startLoopbackServers, type LoopbackServers } from './support/scope-servers.js';

/** Node's lookup for the catalogue's names: every `*.localhost` is this machine, as in a browser. */
const lookup = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options?.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as NonNullable<CreateAxiosDefaults['lookup']>;

/**
 * A page's adapter, in Node: the URL axios builds (its own `getUri`), resolved against `location.href` as XHR and
 * fetch resolve it against the page, then sent by axios's Node adapter to the absolute URL.
 */
const pageAdapter: AxiosAdapter = (config) => {
  const href = (globalThis as unknown as { location: URL }).location.href;
  const target = new URL(axios.getUri(config), href).href;
  const http = axios.getAdapter('http');
  return http({ ...config, url: target, baseURL: '', params: undefined, allowAbsoluteUrls: true });
};

let servers: LoopbackServers;
const rows = (kind: 'sent' | 'parsed') => {
  const all = catalogue({ allowedPort: 1, evilPort: 2 });
  return all.map((row, index) => [row.name, index] as const).filter(([, index]) => all[index]!.kind === kind);
};

beforeAll(async () => {
  servers = await startLoopbackServers();
});

afterEach(() => {
  servers.arrivals.length = 0;
});

afterAll(async () => {
  await servers.close();
});

describe('attachRefresh(instance, options): the token goes only where the request really goes (Node, no page)', () => {
  it.each(rows('sent'))(
    '%s: the token arrives only at the allowed origin, and no 401 from elsewhere refreshes',
    async (_name, index) => {
      const row = catalogue(servers)[index] as SentRow;
      const outcome = await runRow(row, servers, { axios, attachRefresh, defaults: { lookup } });
      checkArrivals(servers.arrivals, servers, row.node);
      expect(outcome.refreshes).toBe(0);
    },
  );

  it.each(rows('parsed'))('%s: the token goes to the URL’s origin only when it is allowed', async (_name, index) => {
    const row = catalogue(servers)[index]!;
    const outcome = await runRow(row, servers, { axios, attachRefresh });
    expect(outcome.authorization).toBe(row.kind === 'parsed' && row.token ? BEARER : undefined);
    expect(outcome.refreshes).toBe(0);
  });
});

describe('attachRefresh(instance, options): the token goes only where the request really goes (Node, with a page location)', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
  beforeAll(() => {
    Object.defineProperty(globalThis, 'location', {
      value: new URL(`http://api.localhost:${servers.allowedPort}/app/page.html`),
      configurable: true,
      writable: true,
    });
  });
  afterAll(() => {
    if (saved === undefined) delete (globalThis as { location?: unknown }).location;
    else Object.defineProperty(globalThis, 'location', saved);
  });

  it.each(rows('sent'))(
    '%s: the token arrives only at the allowed origin, and no 401 from elsewhere refreshes',
    async (_name, index) => {
      const row = catalogue(servers)[index] as SentRow;
      const outcome = await runRow(row, servers, { axios, attachRefresh, defaults: { lookup, adapter: pageAdapter } });
      checkArrivals(servers.arrivals, servers, row.page);
      expect(outcome.refreshes).toBe(0);
    },
  );

  it.each(rows('parsed'))('%s: the token goes to the URL’s origin only when it is allowed', async (_name, index) => {
    const row = catalogue(servers)[index]!;
    const outcome = await runRow(row, servers, { axios, attachRefresh });
    expect(outcome.authorization).toBe(row.kind === 'parsed' && row.token ? BEARER : undefined);
  });
});

describe('attachRefresh(instance, options): a redirect followed by the Node adapter keeps the token only on the allowed origin', () => {
  const targets = (A: number, E: number): [string, string, 'allowed' | 'other'][] => [
    ['slash backslash /\\host', `/\\evil.localhost:${E}/x`, 'other'],
    ['a protocol-relative //host', `//evil.localhost:${E}/x`, 'other'],
    ['a tab between the slashes', `/\t/evil.localhost:${E}/x`, 'other'],
    ['the allowed server under another name', `http://127.0.0.1:${A}/x`, 'other'],
    ['the allowed origin as userinfo of another', `http://api.localhost:${A}@evil.localhost:${E}/x`, 'other'],
    ['the allowed origin in capitals', `HTTP://API.LOCALHOST:${A}/x`, 'allowed'],
    ['a path on the allowed origin', '/x', 'allowed'],
  ];

  it.each(targets(1, 2).map(([name], index) => [name, index] as const))('%s', async (_name, index) => {
    const [, to, goes] = targets(servers.allowedPort, servers.evilPort)[index]!;
    const client = axios.create({ baseURL: `http://api.localhost:${servers.allowedPort}`, lookup });
    let refreshes = 0;
    attachRefresh(client, {
      tokens: { accessToken: 'access-1', refreshToken: 'refresh-1' },
      refresh: async () => {
        refreshes += 1;
        return { accessToken: 'access-2', refreshToken: 'refresh-2' };
      },
    });
    await client.get('/redirect', { params: { to } }).catch(() => undefined);
    checkArrivals(servers.arrivals, servers, goes);
    expect(refreshes).toBe(0);
  });
});

describe('attachRefresh(instance, options): allowedOrigins lists bare origins, written plainly', () => {
  it.each([
    ['a leading space', ' https://api.example.com'],
    ['a trailing newline', 'https://api.example.com\n'],
    ['a tab inside the scheme', 'ht\ttps://api.example.com'],
    ['a backslash', 'https:\\\\api.example.com'],
    ['a path', 'https://api.example.com/v1'],
    ['a query', 'https://api.example.com?x=1'],
    ['a fragment', 'https://api.example.com#x'],
    ['a user name', 'https://me@api.example.com'],
    ['no host', 'https://'],
    ['a scheme other than http: and https:', 'ftp://api.example.com'],
    ['no scheme', '//api.example.com'],
  ])('refuses an entry with %s, with a TypeError that says what an origin is', (_what, entry) => {
    expect(() =>
      attachRefresh(axios.create(), {
        tokens: null,
        refresh: async () => ({ accessToken: 'a' }),
        allowedOrigins: ['https://ok.example.com', entry],
      }),
    ).toThrow(
      new TypeError(
        "Expected `allowedOrigins` entries to be absolute origins like 'https://api.example.com' (http: or https:, a host and an optional port; no path, query, user name, spaces or backslashes), got a string at index 1",
      ),
    );
  });

  it.each([
    'https://api.example.com',
    'https://api.example.com/',
    'HTTPS://API.EXAMPLE.COM:443',
    'http://[::1]:8080',
    'https://bücher.example',
  ])('accepts %s', (entry) => {
    expect(() =>
      attachRefresh(axios.create(), {
        tokens: null,
        refresh: async () => ({ accessToken: 'a' }),
        allowedOrigins: [entry],
      }),
    ).not.toThrow();
  });
});
