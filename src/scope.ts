import type { InternalAxiosRequestConfig } from 'axios';
import type { InstanceOptions } from './options.js';
import { describe, expected } from './validate.js';

const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** Which requests get the token: a function of the request config, built once per instance. */
export type Scope = (config: InternalAxiosRequestConfig) => boolean;

function originOf(url: string): string | undefined {
  try {
    return new URL(url, 'http://relative.invalid').origin;
  } catch {
    return undefined;
  }
}

/**
 * Builds the scope check: relative URLs and the `baseURL`'s origin (or the page's, in a browser) are the instance's
 * own; `allowedOrigins` adds more. Any other origin never gets the token, and its 401 never triggers a refresh.
 *
 * @param defaults - the instance's defaults (read at request time: `baseURL` may be set after attaching).
 * @param allowed - the `allowedOrigins` option.
 */
export function createScope(
  defaults: { readonly baseURL?: string | undefined },
  allowed: InstanceOptions['allowedOrigins'],
): Scope {
  const list = new Set<string>();
  let predicate: ((origin: string, config: InternalAxiosRequestConfig) => boolean) | undefined;
  if (typeof allowed === 'function') predicate = allowed;
  else if (allowed !== undefined) {
    if (!Array.isArray(allowed)) {
      throw new TypeError(expected('allowedOrigins', 'an array of origins or a function', allowed));
    }
    for (const entry of allowed as readonly unknown[]) {
      const origin = typeof entry === 'string' && ABSOLUTE.test(entry) ? originOf(entry) : undefined;
      if (origin === undefined || origin === 'null') {
        throw new TypeError(
          `Expected \`allowedOrigins\` entries to be absolute origins like 'https://api.example.com', got ${describe(entry)}`,
        );
      }
      list.add(origin);
    }
  }
  const page = (globalThis as { location?: { origin?: unknown } }).location?.origin;
  const pageOrigin = typeof page === 'string' && page !== 'null' ? page : undefined;
  let cachedBase: string | undefined;
  let cachedBaseOrigin: string | undefined;

  const ownOrigin = (): string | undefined => {
    const base = defaults.baseURL;
    if (base !== cachedBase) {
      cachedBase = base;
      cachedBaseOrigin = base !== undefined && ABSOLUTE.test(base) ? originOf(base) : pageOrigin;
    }
    return cachedBaseOrigin;
  };

  return (config) => {
    const url = config.url ?? '';
    const base = config.baseURL;
    // The common case, a path on the instance's own baseURL, decides without a regular expression.
    if (url.charCodeAt(0) === 47 && url.charCodeAt(1) !== 47 && (base === undefined || base === defaults.baseURL)) {
      return true;
    }
    const absoluteUrl = ABSOLUTE.test(url) && config.allowAbsoluteUrls !== false;
    if (!absoluteUrl && (base === undefined || base === defaults.baseURL || !ABSOLUTE.test(base))) return true;
    const target = absoluteUrl ? url : (base as string);
    const origin = originOf(target);
    if (origin === undefined) return false;
    if (origin === ownOrigin() || origin === pageOrigin || list.has(origin)) return true;
    return predicate !== undefined && predicate(origin, config);
  };
}
