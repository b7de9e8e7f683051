import { deleteHeaders } from './headers.js';
import type { InternalAxiosRequestConfig } from 'axios';
import { type Scope, sentTo } from './scope.js';

type BeforeRedirect = NonNullable<InternalAxiosRequestConfig['beforeRedirect']>;

/**
 * The Node-only redirect guard. Node's adapter follows redirects with follow-redirects, which alone keeps
 * Authorization on a redirect to a subdomain or from http: to https: on the same host; older axios versions add no
 * check of their own. A redirect out of scope must never carry the token (nor its DPoP proof), whatever the axios
 * version.
 *
 * The guard goes into each request that carries the token, never into `instance.defaults`: `axios.create()` copies
 * the default export's defaults, and a guard there would judge other instances' redirects by this instance's scope.
 * In a browser `beforeRedirect` is never called (the browser follows redirects itself, and drops Authorization on a
 * cross-origin one).
 *
 * @param inScope - the instance's scope: a redirect target it does not cover loses the Authorization and DPoP headers.
 * @returns a function that installs the guard in a request config (wrapping the request's own `beforeRedirect`).
 */
export function createRedirectGuard(inScope: Scope): (config: InternalAxiosRequestConfig) => void {
  const ours = new WeakSet<object>();
  const guarded = (previous: BeforeRedirect | undefined, config?: InternalAxiosRequestConfig): BeforeRedirect => {
    const guard: BeforeRedirect = (options, response, request) => {
      previous?.(options, response, request);
      const href: unknown = options['href'];
      const headers = options['headers'] as Record<string, unknown> | undefined;
      if (headers === undefined) return;
      if (typeof href === 'string' && inScope(sentTo(config, href))) return;
      deleteHeaders(headers, /^(authorization|dpop)$/i);
    };
    ours.add(guard);
    return guard;
  };
  // A request without its own beforeRedirect (the common case) shares one guard: nothing allocated per request.
  // Unless the app's `allowedOrigins` function judges redirects: it is shown the request's own config.
  const plain = guarded(undefined);
  return (config) => {
    const previous = config.beforeRedirect;
    if (previous !== undefined && ours.has(previous)) return;
    config.beforeRedirect = previous === undefined && !inScope.asks ? plain : guarded(previous, config);
  };
}
