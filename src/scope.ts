import type { InternalAxiosRequestConfig } from 'axios';
import type { InstanceOptions } from './options.js';
import { sentToken } from './redact.js';
import { askApp } from './report.js';
import { describe, expected } from './validate.js';

/**
 * Which requests get the token. The decision is made on the URL the adapter will really request, never on the
 * string as written: axios joins `baseURL` and `url` (its `buildFullPath`), then the browser (or Node's adapter)
 * parses the result as a WHATWG URL, which treats `\` like `/` in http(s) URLs, drops tabs and newlines anywhere and
 * spaces and control characters at either end. So `/\evil.com/x` on a page is `https://evil.com/x`. We join and
 * parse the same way, then compare origins. The rule in user terms is in docs/scope.md.
 */

/** axios's `isAbsoluteURL` (1.x), exactly: `<scheme>://` or `//` at the very start, nothing else. */
const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/**
 * Where a URL that is still relative after joining is resolved in Node, where there is no page. A host under
 * `.invalid` (RFC 6761) never resolves, so nothing can ever be sent to it: whatever resolves there named no host.
 */
const NOWHERE = 'http://relative.invalid';

/** The answer for a URL that names no host of its own: it stays wherever the app's environment sends paths. */
const PATH_ONLY = 'path';

/**
 * Which requests get the token: a function of the request config, built once per instance. `asks`: it may ask the
 * app's `allowedOrigins` function, which reads the config (so a redirect's check needs the request's own).
 */
export type Scope = ((config: InternalAxiosRequestConfig) => boolean) & { readonly asks: boolean };

/**
 * A request's config sent to `url` instead (a redirect's target, where a response came from): what the scope, and the
 * app's `allowedOrigins` function, judge for it.
 *
 * @param config - the request's config, if known.
 * @param url - the absolute URL it went to.
 */
export function sentTo(config: InternalAxiosRequestConfig | undefined, url: string): InternalAxiosRequestConfig {
  return { ...config, url, baseURL: undefined, allowAbsoluteUrls: true } as unknown as InternalAxiosRequestConfig;
}

interface Page {
  readonly origin: string | undefined;
  /** What relative request URLs resolve against: the document's base URL. */
  readonly base: string | undefined;
  /** The page's own address: what the instance's relative `baseURL` resolves against for its origin. */
  readonly href: string | undefined;
}

/**
 * The page the browser resolves relative URLs against: XHR and fetch use the document's base URL (which a
 * `<base href>` can move), a worker its own location. Read at request time: a `<base>` may be added later.
 */
function currentPage(): Page {
  const scope = globalThis as { location?: { origin?: unknown; href?: unknown }; document?: { baseURI?: unknown } };
  const location = scope.location;
  if (location === undefined || location === null) return { origin: undefined, base: undefined, href: undefined };
  const baseURI = scope.document?.baseURI;
  const href = typeof location.href === 'string' ? location.href : undefined;
  const base = typeof baseURI === 'string' ? baseURI : href;
  const origin = typeof location.origin === 'string' && location.origin !== 'null' ? location.origin : undefined;
  return { origin, base, href };
}

/**
 * axios's `combineURLs`. Versions of axios differ in how many trailing slashes of `baseURL` they drop (all, or at
 * most two); they give different strings only when `baseURL` ends with three or more, and then both are checked.
 */
function joined(base: string, url: string): string[] {
  if (url === '') return [base];
  const rest = `/${url.replace(/^\/+/, '')}`;
  const all = base.replace(/\/+$/, '') + rest;
  return /\/\/\/$/.test(base) ? [all, base.replace(/\/?\/$/, '') + rest] : [all];
}

/**
 * The URLs axios may hand to the adapter for this config (its `buildFullPath`), or `undefined` when axios would
 * throw or send something we cannot read (a non-string `url` or `baseURL`). `allowAbsoluteUrls: false` joins an
 * absolute `url` onto `baseURL` since axios 1.8; older versions ignore it and send the `url`: both are checked.
 */
function requestedURLs(base: unknown, url: unknown, allowAbsoluteUrls: unknown): string[] | undefined {
  const path = url === undefined || url === null ? '' : url;
  if (typeof path !== 'string') return undefined;
  if (!base) return [path];
  if (typeof base !== 'string') return undefined;
  if (!ABSOLUTE.test(path)) return joined(base, path);
  return allowAbsoluteUrls === false ? [path, ...joined(base, path)] : [path];
}

/**
 * Where a full URL goes: its origin (`'null'` for a scheme without one), {@link PATH_ONLY} for a URL that names no
 * host in Node without a page, `undefined` when it cannot be parsed (the browser and the adapter refuse it too).
 */
function destination(full: string, page: Page): string | undefined {
  try {
    if (page.base !== undefined) return new URL(full, page.base).origin;
  } catch {
    return undefined;
  }
  try {
    // Node's adapter parses the full URL with no base (`new URL(fullPath)`), so what parses here is where it goes.
    return new URL(full).origin;
  } catch {
    // Not absolute: Node's adapter cannot send it (it throws) unless through `socketPath` or an adapter of the
    // app's. Paths keep counting as the instance's own there; anything that names a host (`//x`, `\\x`) does not.
    try {
      const url = new URL(full, NOWHERE);
      return url.origin === NOWHERE ? PATH_ONLY : url.origin;
    } catch {
      return undefined;
    }
  }
}

/**
 * An http(s) URL written plainly, or `undefined`. Spaces and control characters would be dropped by the URL parser,
 * and quietly so, and a backslash read as a slash: text that holds any is refused instead.
 */
function plainHttpURL(text: unknown): URL | undefined {
  if (typeof text !== 'string' || /[\u0000-\u0020\\]/.test(text)) return undefined;
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

/** An `allowedOrigins` entry, or `undefined` when it is anything but a bare http(s) origin written plainly. */
function parseOrigin(entry: unknown): string | undefined {
  if (typeof entry !== 'string' || !ABSOLUTE.test(entry)) return undefined;
  const url = plainHttpURL(entry);
  const bare =
    url?.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === '';
  return bare && !entry.endsWith('?') && !entry.endsWith('#') ? url.origin : undefined;
}

/** The `allowedOrigins` list as origins (none when it is a function or not given); throws for a bad entry. */
function parseAllowed(allowed: InstanceOptions['allowedOrigins']): ReadonlySet<string> {
  const list = new Set<string>();
  if (typeof allowed === 'function' || allowed === undefined) return list;
  if (!Array.isArray(allowed)) {
    throw new TypeError(expected('allowedOrigins', 'an array of origins or a function', allowed));
  }
  (allowed as readonly unknown[]).forEach((entry, index) => {
    const origin = parseOrigin(entry);
    if (typeof entry === 'string' && entry.includes('*')) {
      // The WHATWG parser takes `*.example.com` for a host of its own: the entry would match nothing, silently.
      throw new TypeError(
        `Expected \`allowedOrigins\` entries to be origins, got a wildcard at index ${index}: a pattern is a ` +
          "function, e.g. `(origin) => origin.endsWith('.example.com')` (check the scheme too)",
      );
    }
    if (origin === undefined) {
      throw new TypeError(
        `Expected \`allowedOrigins\` entries to be absolute origins like 'https://api.example.com' (http: or https:, ` +
          `a host and an optional port; no path, query, user name, spaces or backslashes), got ${describe(entry)} at ` +
          `index ${index}`,
      );
    }
    list.add(origin);
  });
  return list;
}

/**
 * An instance `baseURL` that is an http(s) URL on its own, written plainly. Joined with any `url` that axios deems
 * relative, it keeps its origin: axios inserts a `/` after it, which ends the host whatever follows, and what it
 * strips (trailing slashes) is never part of the host, because a URL with an empty host does not parse.
 */
function plainAbsoluteOrigin(base: unknown): string | undefined {
  return plainHttpURL(base)?.origin;
}

/** A path: `/` then neither a second `/` nor what a URL parser reads as one (`\`, or a tab or newline it drops). */
function isPath(url: unknown): boolean {
  if (typeof url !== 'string' || url.charCodeAt(0) !== 47) return false;
  const second = url.charCodeAt(1);
  return second !== 47 && second !== 92 && second !== 9 && second !== 10 && second !== 13;
}

/**
 * The common case, decided without parsing (the full check would say yes as well): a path (which axios never takes
 * for absolute) joined onto the instance's own plain absolute baseURL stays on that origin (see plainAbsoluteOrigin).
 * And without a page (no `window`, as axios itself decides) and without any baseURL, a path has no origin: Node's
 * adapter cannot send it anywhere (`new URL` of it throws), so it counts as the instance's own.
 */
function ownPath(
  config: InternalAxiosRequestConfig,
  instanceBase: string | undefined,
  plainOrigin: string | undefined,
): boolean {
  if (!isPath(config.url)) return false;
  if (plainOrigin !== undefined && config.baseURL === instanceBase) return true;
  return !instanceBase && !config.baseURL && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/** Asks the app's `allowedOrigins` function (see {@link askApp}): only `true` sends the token. */
function askAllowedOrigins(
  predicate: (origin: string, config: InternalAxiosRequestConfig) => boolean,
  origin: string,
  config: InternalAxiosRequestConfig,
): boolean {
  // The config may carry the token by now (the send guard asks again after it was attached).
  const where = 'the `allowedOrigins` function';
  return askApp(predicate, [origin, config], where, 'No token was sent.', [sentToken(config)]) === true;
}

/**
 * Builds the scope check. A request gets the token when the URL it will really be sent to (axios's join of
 * `baseURL` and `url`, resolved like the browser or Node's adapter does) has the instance's own origin (its
 * `baseURL`'s, or the page's in a browser) or one of `allowedOrigins`. Any other origin never gets the token, and
 * its 401 never triggers a refresh.
 *
 * @param defaults - the instance's defaults (read at request time: `baseURL` may be set after attaching).
 * @param allowed - the `allowedOrigins` option.
 */
export function createScope(
  defaults: { readonly baseURL?: string | undefined },
  allowed: InstanceOptions['allowedOrigins'],
): Scope {
  const list = parseAllowed(allowed);
  const predicate = typeof allowed === 'function' ? allowed : undefined;
  let cachedBase: unknown = {};
  let plainOrigin: string | undefined;

  const allows = (
    origin: string | undefined,
    own: string | undefined,
    page: Page,
    config: InternalAxiosRequestConfig,
  ) => {
    if (origin === undefined || origin === 'null') return false;
    if (origin === PATH_ONLY || origin === own || origin === page.origin || list.has(origin)) return true;
    return predicate !== undefined && askAllowedOrigins(predicate, origin, config);
  };

  const scope = (config: InternalAxiosRequestConfig) => {
    const instanceBase = defaults.baseURL;
    if (instanceBase !== cachedBase) {
      cachedBase = instanceBase;
      plainOrigin = plainAbsoluteOrigin(instanceBase);
    }
    if (ownPath(config, instanceBase, plainOrigin)) return true;
    const targets = requestedURLs(config.baseURL, config.url, config.allowAbsoluteUrls);
    if (targets === undefined) return false;
    const page = currentPage();
    // A relative baseURL (`/api`) makes the page's origin the instance's own, never the place a `<base href>` (which
    // HTML injection can add) points to: requests sent there are judged like any other origin.
    const own = plainOrigin ?? (instanceBase ? destination(instanceBase, { ...page, base: page.href }) : undefined);
    return targets.every((target) =>
      allows(destination(target, page), own === PATH_ONLY ? undefined : own, page, config),
    );
  };
  return Object.assign(scope, { asks: predicate !== undefined });
}

/**
 * Whether the response came from within the scope. An adapter that follows redirects answers with the last hop's
 * response; a 401 from a hop on another origin must not start a refresh. Node's adapter exposes that URL as
 * follow-redirects' `responseUrl`, XHR as `responseURL`; the fetch adapter does not expose it (browsers drop
 * Authorization on a redirect to another origin themselves).
 *
 * @param scope - the instance's scope.
 * @param error - the failed response's error: its `request` (which says where the answer came from) and `config`.
 */
export function answeredInScope(
  scope: Scope,
  { request, config }: { readonly request?: unknown; readonly config?: InternalAxiosRequestConfig | undefined },
): boolean {
  const last = request as { responseURL?: unknown; res?: { responseUrl?: unknown } | null } | null | undefined;
  const url = last?.responseURL ?? last?.res?.responseUrl;
  return typeof url !== 'string' || url === '' || scope(sentTo(config, url));
}
