import { deleteHeaders } from './headers.js';
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
 * @param sending - called with the config as it is sent (the plugin's per-request state is brought up to date then:
 *   an interceptor may have held the request a while).
 * @returns a function that installs the check in a request config that carries the token.
 */
export function createSendGuard(
  inScope: Scope,
  sending: (config: InternalAxiosRequestConfig) => void,
): (config: InternalAxiosRequestConfig) => void {
  return lastTransform(function (this: InternalAxiosRequestConfig, data, headers) {
    sending(this);
    if (!inScope(this)) deleteHeaders(headers, /^(authorization|dpop)$/i);
    return data as unknown;
  });
}

/**
 * Returns a function that appends `step` to a request config's `transformRequest`, once (a replay's config has it
 * already). axios runs `transformRequest` after every request interceptor, just before the adapter, with the config
 * as `this`. @internal
 *
 * @param step - the transformer; it must return `data`.
 */
export function lastTransform(step: AxiosRequestTransformer): (config: InternalAxiosRequestConfig) => void {
  // axios 1.x copies the list into each request's config (mergeConfig), so this is one new array per request; a list
  // shared by requests (an adapter or axios version that does not copy it) is extended once, never in place.
  const extended = new WeakMap<object, AxiosRequestTransformer[]>();
  return (config) => {
    const current = config.transformRequest;
    if (current === step || (Array.isArray(current) && current.includes(step))) return;
    // `null` (no transformers at all) too: axios would call a `null` in a list.
    if (current === undefined || current === null) {
      config.transformRequest = [step];
      return;
    }
    const list = Array.isArray(current) ? current : [current];
    let next = extended.get(list);
    if (next === undefined) {
      next = [...list, step];
      extended.set(list, next);
    }
    config.transformRequest = next;
  };
}
