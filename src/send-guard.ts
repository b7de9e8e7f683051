import type { AxiosRequestTransformer, InternalAxiosRequestConfig } from 'axios';
import type { Scope } from './scope.js';

/**
 * The last look before the adapter. The plugin decides scope in its request interceptor, but interceptors the app
 * registered earlier run after it (axios runs request interceptors last-registered-first), and any interceptor may
 * move the request to another origin (a new `baseURL` or an absolute `url`). axios runs `transformRequest` after every
 * interceptor, on the config the adapter will send: a transformer appended there checks the scope again and removes
 * the token (and a DPoP proof) from a request that no longer goes where it was attached for.
 *
 * @param inScope - the instance's scope.
 * @returns a function that installs the check in a request config that carries the token.
 */
export function createSendGuard(inScope: Scope): (config: InternalAxiosRequestConfig) => void {
  const check: AxiosRequestTransformer = function (this: InternalAxiosRequestConfig, data, headers) {
    if (!inScope(this)) {
      // AxiosHeaders#delete removes one spelling per call: the app's (`AUTHORIZATION`) may sit beside ours.
      for (const name of ['Authorization', 'DPoP']) while (headers.has(name)) headers.delete(name);
    }
    return data as unknown;
  };
  // The transformers usually come from the instance defaults, the same array for every request: extended once.
  const extended = new WeakMap<object, AxiosRequestTransformer[]>();
  return (config) => {
    const current = config.transformRequest;
    if (current === check || (Array.isArray(current) && current[current.length - 1] === check)) return;
    if (current === undefined) {
      config.transformRequest = [check];
      return;
    }
    const list = Array.isArray(current) ? current : [current];
    let next = extended.get(list);
    if (next === undefined) {
      next = [...list, check];
      extended.set(list, next);
    }
    config.transformRequest = next;
  };
}
