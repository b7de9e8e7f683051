// The URL catalogue of docs/scope.md, shared by the Node suite (test/scope-catalogue.test.ts) and the Chromium suite
// (test/e2e/scope.e2e.test.ts), which bundles it into the test page. No Node imports here.
import type { AxiosInstance, AxiosStatic, CreateAxiosDefaults } from 'axios';
import type { attachRefresh as Attach } from '../../src/index.js';

/**
 * The two loopback servers of a run. The allowed origin is `http://api.localhost:<allowedPort>`; any other name for
 * it (`127.0.0.1`, a look-alike) is another origin, and `evil.localhost:<evilPort>` is another server. `*.localhost`
 * is loopback in Chromium; the Node suite maps it with `lookup`.
 */
export interface Ports {
  readonly allowedPort: number;
  readonly evilPort: number;
}

/** Where a request ends up: which server, under which name, with which header. */
export interface Arrival {
  readonly server: 'allowed' | 'evil';
  /** The Host header: with the server's port, the origin the request was addressed to. */
  readonly host: string;
  readonly authorization: string | undefined;
}

/**
 * Where a row's request really goes: `allowed` (with the token), `allowed-bare` (to the allowed origin, but the
 * plugin cannot be sure of that for every axios version, so without the token), `other` (another origin, never with
 * the token), `nowhere` (the adapter or the browser refuses the URL).
 */
export type Destination = 'allowed' | 'allowed-bare' | 'other' | 'nowhere';

/** A row sent to real servers. `node` is where it goes in Node with no page; `page` with a page on the allowed origin. */
export interface SentRow {
  readonly kind: 'sent';
  readonly name: string;
  /** `none`: no baseURL; `absolute`: the allowed origin; or a relative baseURL such as `/api`. */
  readonly instanceBase: 'none' | 'absolute' | string;
  readonly url: string;
  readonly baseURL?: string;
  readonly allowAbsoluteUrls?: boolean;
  readonly node: Destination;
  readonly page: Destination;
}

/** A row decided without a server (a host that cannot exist here): does the request get the token? */
export interface ParsedRow {
  readonly kind: 'parsed';
  readonly name: string;
  readonly allowedOrigins: readonly string[];
  readonly url: string;
  readonly token: boolean;
}

export type Row = SentRow | ParsedRow;

export const TOKENS = { accessToken: 'access-1', refreshToken: 'refresh-1' } as const;
export const BEARER = `Bearer ${TOKENS.accessToken}`;

/** The catalogue, for one pair of servers. */
export function catalogue({ allowedPort: A, evilPort: E }: Ports): Row[] {
  const allowed = `http://api.localhost:${A}`;
  const evilHost = `evil.localhost:${E}`;
  const evil = `http://${evilHost}`;
  const sent = (
    name: string,
    url: string,
    node: Destination,
    page: Destination,
    more: Partial<Pick<SentRow, 'instanceBase' | 'baseURL' | 'allowAbsoluteUrls'>> = {},
  ): SentRow => ({ kind: 'sent', name, url, node, page, instanceBase: 'none', ...more });
  const parsed = (name: string, allowedOrigins: readonly string[], url: string, token: boolean): ParsedRow => ({
    kind: 'parsed',
    name,
    allowedOrigins,
    url,
    token,
  });
  const onSlash = { instanceBase: '/' } as const;
  return [
    sent('a path', '/x', 'nowhere', 'allowed'),
    sent('an absolute URL on the allowed origin', `${allowed}/x`, 'allowed', 'allowed'),
    sent('an absolute URL on another origin', `${evil}/x`, 'other', 'other'),
    sent('a protocol-relative //host', `//${evilHost}/x`, 'nowhere', 'other'),
    sent('two backslashes \\\\host', `\\\\${evilHost}/x`, 'nowhere', 'other'),
    sent('slash backslash /\\host', `/\\${evilHost}/x`, 'nowhere', 'other'),
    sent('backslash slash \\/host', `\\/${evilHost}/x`, 'nowhere', 'other'),
    sent('a tab between the slashes', `/\t/${evilHost}/x`, 'nowhere', 'other'),
    sent('a newline between the slashes', `/\n/${evilHost}/x`, 'nowhere', 'other'),
    sent('a carriage return before //', `\r//${evilHost}/x`, 'nowhere', 'other'),
    sent('a leading space before //', ` //${evilHost}/x`, 'nowhere', 'other'),
    sent('a leading space before http://', ` ${evil}/x`, 'other', 'other'),
    sent('a leading tab before http://', `\t${evil}/x`, 'other', 'other'),
    sent('a leading control character before http://', `\u0001${evil}/x`, 'other', 'other'),
    sent('a leading NUL before http://', `\u0000${evil}/x`, 'other', 'other'),
    sent('a tab inside the scheme', `ht\ttp://${evilHost}/x`, 'other', 'other'),
    sent('a newline inside the scheme', `htt\np://${evilHost}/x`, 'other', 'other'),
    // axios >= 1.21 refuses an http: URL without `//`; older versions send these to the other origin.
    sent('backslashes after the scheme', `http:\\\\${evilHost}/x`, 'nowhere', 'nowhere'),
    sent('mixed slashes after the scheme', `http:/\\${evilHost}/x`, 'nowhere', 'nowhere'),
    sent('a scheme with no slashes', `http:${evilHost}/x`, 'nowhere', 'nowhere'),
    sent('the allowed origin as userinfo of another', `http://api.localhost:${A}@${evilHost}/x`, 'other', 'other'),
    sent('a fragment holding @ and the allowed host', `${evil}/x#@api.localhost:${A}`, 'other', 'other'),
    sent(
      'a fragment holding @ and another host, on the allowed origin',
      `${allowed}/x#@${evilHost}`,
      'allowed',
      'allowed',
    ),
    sent(
      'a look-alike host (allowed host + another domain)',
      `http://api.localhost.evil.localhost:${E}/x`,
      'other',
      'other',
    ),
    sent('the allowed server under another name (127.0.0.1)', `http://127.0.0.1:${A}/x`, 'other', 'other'),
    sent('a subdomain of the allowed host, same port', `http://www.api.localhost:${A}/x`, 'other', 'other'),
    sent('the allowed origin in capitals', `HTTP://API.LOCALHOST:${A}/x`, 'allowed', 'allowed'),
    sent('a per-request baseURL on another origin', '/x', 'other', 'other', {
      instanceBase: 'absolute',
      baseURL: evil,
    }),
    sent('a per-request baseURL \\\\host', '/x', 'nowhere', 'other', { baseURL: `\\\\${evilHost}` }),
    sent('a per-request baseURL with a leading space', '/x', 'other', 'other', { baseURL: ` ${evil}` }),
    sent('a per-request baseURL with a tab in the scheme', '/x', 'other', 'other', { baseURL: `ht\ttp://${evilHost}` }),
    sent('a per-request baseURL //host', '/x', 'nowhere', 'other', {
      instanceBase: 'absolute',
      baseURL: `//${evilHost}`,
    }),
    sent('allowAbsoluteUrls: false with a per-request baseURL on another origin', `${allowed}/x`, 'other', 'other', {
      baseURL: evil,
      allowAbsoluteUrls: false,
    }),
    sent('allowAbsoluteUrls: false with a per-request baseURL \\\\host', `${allowed}/x`, 'nowhere', 'other', {
      baseURL: `\\\\${evilHost}`,
      allowAbsoluteUrls: false,
    }),
    // axios >= 1.8 joins the URL onto the baseURL; older versions send it as is, to the other origin.
    sent(
      'allowAbsoluteUrls: false with an absolute URL on another origin',
      `${evil}/x`,
      'allowed-bare',
      'allowed-bare',
      {
        instanceBase: 'absolute',
        allowAbsoluteUrls: false,
      },
    ),
    sent('a path on the allowed baseURL', '/x', 'allowed', 'allowed', { instanceBase: 'absolute' }),
    sent('a path of backslashes on the allowed baseURL', `/\\${evilHost}/x`, 'allowed', 'allowed', {
      instanceBase: 'absolute',
    }),
    sent('a leading space on the allowed baseURL', ` ${evil}/x`, 'allowed', 'allowed', { instanceBase: 'absolute' }),
    sent('a path on a relative baseURL /api', '/x', 'nowhere', 'allowed', { instanceBase: '/api' }),
    sent('\\\\host on a relative baseURL /', `\\\\${evilHost}/x`, 'nowhere', 'other', onSlash),
    sent('\\/host on a relative baseURL /', `\\/${evilHost}/x`, 'nowhere', 'other', onSlash),
    sent('/\\t/host on a relative baseURL /', `/\t/${evilHost}/x`, 'nowhere', 'other', onSlash),
    sent('a leading space before http:// on a relative baseURL /', ` ${evil}/x`, 'nowhere', 'allowed', onSlash),

    parsed('the default https port written out', ['https://api.example.com'], 'https://api.example.com:443/x', true),
    parsed(
      'the default http port written out in the list',
      ['http://api.example.com:80'],
      'http://api.example.com/x',
      true,
    ),
    parsed('another port', ['https://api.example.com'], 'https://api.example.com:8443/x', false),
    parsed('http: instead of https:', ['https://api.example.com'], 'http://api.example.com/x', false),
    parsed('https: instead of http:', ['http://api.example.com'], 'https://api.example.com/x', false),
    parsed('capitals', ['https://api.example.com'], 'HTTPS://API.EXAMPLE.COM/x', true),
    parsed('a look-alike host', ['https://api.example.com'], 'https://api.example.com.evil.com/x', false),
    parsed(
      'a trailing dot (another origin to the browser)',
      ['https://api.example.com'],
      'https://api.example.com./x',
      false,
    ),
    parsed('userinfo', ['https://api.example.com'], 'https://api.example.com@evil.com/', false),
    parsed('a backslash before @', ['https://api.example.com'], 'https://evil.com\\@api.example.com/', false),
    parsed('a fragment and @', ['https://api.example.com'], 'https://evil.com#@api.example.com', false),
    parsed(
      'ideographic full stops (the browser maps them to dots)',
      ['https://api.example.com'],
      'https://api\u3002example\u3002com/x',
      true,
    ),
    parsed('IPv6 written out in full', ['http://[::1]:8080'], 'http://[0:0:0:0:0:0:0:1]:8080/x', true),
    parsed('another IPv6 address', ['http://[::1]:8080'], 'http://[::2]:8080/x', false),
    parsed('IPv6 on another port', ['http://[::1]:8080'], 'http://[::1]/x', false),
    parsed('IPv4-mapped IPv6 is another origin', ['http://127.0.0.1:8080'], 'http://[::ffff:127.0.0.1]:8080/x', false),
    parsed(
      'a Unicode host listed, its punycode requested',
      ['https://bücher.example'],
      'https://xn--bcher-kva.example/x',
      true,
    ),
    parsed(
      'a punycode host listed, its Unicode requested',
      ['https://xn--bcher-kva.example'],
      'https://BÜCHER.example/x',
      true,
    ),
    parsed(
      'a host that only looks like the Unicode one',
      ['https://bücher.example'],
      'https://bucher.example/x',
      false,
    ),
    parsed('an IPv4 address in hex', ['http://127.0.0.1:8080'], 'http://0x7f.0.0.1:8080/x', true),
  ];
}

/** What the runner needs besides the row: an axios to create instances from, and the plugin. */
export interface Runner {
  readonly axios: AxiosStatic;
  readonly attachRefresh: typeof Attach;
  /** Extra instance defaults (an adapter, a `lookup`). */
  readonly defaults?: CreateAxiosDefaults;
}

/** What a row did: how many refreshes it started, and for a parsed row the Authorization it would have sent. */
export interface Outcome {
  readonly refreshes: number;
  readonly authorization?: string | undefined;
}

/**
 * Sends one row through a fresh instance with the plugin attached. Every server answers another origin with 401, so
 * a token that reached one would start a refresh: `refreshes` counts them.
 */
export async function runRow(row: Row, ports: Ports, runner: Runner): Promise<Outcome> {
  let refreshes = 0;
  const refresh = async () => {
    refreshes += 1;
    return { accessToken: 'access-2', refreshToken: 'refresh-2' };
  };
  const allowed = `http://api.localhost:${ports.allowedPort}`;
  if (row.kind === 'parsed') {
    let authorization: string | undefined;
    const instance = runner.axios.create({
      adapter: async (config) => {
        const value = config.headers.get('Authorization');
        authorization = typeof value === 'string' ? value : undefined;
        return { data: null, status: 200, statusText: 'OK', headers: {}, config };
      },
    });
    runner.attachRefresh(instance, { tokens: { ...TOKENS }, refresh, allowedOrigins: row.allowedOrigins });
    await instance.get(row.url);
    return { refreshes, authorization };
  }
  const base = row.instanceBase === 'none' ? undefined : row.instanceBase === 'absolute' ? allowed : row.instanceBase;
  const instance: AxiosInstance = runner.axios.create({
    ...runner.defaults,
    ...(base === undefined ? {} : { baseURL: base }),
  });
  // With no baseURL, a Node instance has no origin of its own: it lists the allowed one.
  const allowedOrigins = row.instanceBase === 'absolute' ? [] : [allowed];
  runner.attachRefresh(instance, { tokens: { ...TOKENS }, refresh, allowedOrigins });
  await instance
    .get(row.url, {
      ...(row.baseURL === undefined ? {} : { baseURL: row.baseURL }),
      ...(row.allowAbsoluteUrls === undefined ? {} : { allowAbsoluteUrls: row.allowAbsoluteUrls }),
      timeout: 5000,
    })
    .catch(() => undefined);
  return { refreshes };
}
