/**
 * What every request to the authorization server shares (token, revocation and metadata endpoints): the URL rules,
 * client authentication (RFC 6749 §2.3.1) and a transport error that holds no secret.
 */

import axios from 'axios';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { TokenRefreshError } from './errors.js';
import { expected, isNonEmptyString, printable, show } from './validate.js';

/**
 * The largest answer body read from the token, revocation or metadata endpoint, in bytes (axios `maxContentLength`):
 * a real one is a few kilobytes, and a server that streams without end must not fill the memory.
 */
export const MAX_RESPONSE_BYTES = 1_048_576;

/** `http:` is accepted on these hosts without `allowInsecureHttp`. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** How the client authenticates; mirrors `ClientAuthMethod` in oauth2.ts. */
type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** The client credentials every endpoint call needs. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly authMethod: AuthMethod;
  readonly basicAuthEncoding: 'form-urlencoded' | 'raw';
}

/** An endpoint URL that passed {@link checkEndpointUrl}, and how messages name it (no query, no credentials). */
export interface Endpoint {
  readonly url: URL;
  readonly where: string;
}

/**
 * The axios instance of a grant or a discovery: the `axios` option, else a plain `axios.create()` made on first use,
 * so the request never passes through this plugin's interceptors (or any other).
 *
 * @param given - the `axios` option.
 */
export function lazyClient(given: AxiosInstance | undefined): () => AxiosInstance {
  let client = given;
  return () => (client ??= axios.create());
}

/** An axios instance (callable, with `request`): the `axios` option of the grants and of `discover`. */
export const isAxiosInstance = (value: unknown): boolean =>
  typeof value === 'function' && typeof (value as { request?: unknown }).request === 'function';

/**
 * Parses an absolute URL given as a string or a URL object.
 *
 * @param value - anything.
 */
export function parseUrl(value: unknown): URL | undefined {
  if (!(value instanceof URL) && typeof value !== 'string') return undefined;
  try {
    return new URL(value instanceof URL ? value.href : value);
  } catch {
    return undefined;
  }
}

/**
 * Shows a URL option that did not parse, with anything that may be credentials cut out: whatever lies between the
 * scheme and the last `@` (`https://user:password@host` → `https://…@host`).
 *
 * @param value - the option's value.
 */
function showWithoutCredentials(value: unknown): string {
  return show(typeof value === 'string' ? value.replace(/^([a-z][a-z\d+.-]*:\/\/)?.*@/is, '$1…@') : value);
}

/**
 * The https/loopback rule of every endpoint: `https:`, or `http:` on a loopback host, or anywhere with
 * `allowInsecureHttp`; no credentials in the URL. Returns the endpoint, or throws `fail(problem)`, the problem a
 * sentence in the package's ``Expected `name` …`` form.
 *
 * @param name - the option or metadata member, for the message.
 * @param value - the URL.
 * @param allowInsecureHttp - the grant's option.
 * @param fail - makes the error to throw; a `TypeError` by default (a bad option).
 */
export function checkEndpointUrl(
  name: string,
  value: unknown,
  allowInsecureHttp: boolean,
  fail = (problem: string): Error => new TypeError(problem),
): Endpoint {
  const url = parseUrl(value);
  if (!url) throw fail(expected(name, 'an absolute URL', value, showWithoutCredentials));
  if (url.username !== '' || url.password !== '') {
    throw fail(`Expected \`${name}\` to contain no credentials; pass them as \`clientId\` and \`clientSecret\``);
  }
  const where = `${url.origin}${url.pathname}`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw fail(`Expected \`${name}\` to be an https: URL, got \`${url.protocol}\` (${where})`);
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname) && !allowInsecureHttp) {
    throw fail(
      `Expected \`${name}\` to be an https: URL, got \`${where}\`: plain http: would send the refresh token and ` +
        'client secret in clear text (allowed for localhost, 127.0.0.1 and [::1]; set ' +
        '`allowInsecureHttp: true` only on a development network)',
    );
  }
  return { url, where };
}

/**
 * A form request to an endpoint of the authorization server, with the client authentication (RFC 6749 §2.3.1): a
 * Basic header, or `client_id` (and `client_secret`) in the body.
 *
 * @param client - the credentials and method.
 * @param params - the request's own parameters.
 * @param headers - more headers.
 */
export function authenticatedForm(
  client: ClientCredentials,
  params: Readonly<Record<string, string>>,
  headers?: Readonly<Record<string, string>>,
): { body: URLSearchParams; headers: Record<string, string> } {
  const body = new URLSearchParams(params);
  const form: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', ...headers };
  if (client.authMethod === 'client_secret_basic') {
    form['Authorization'] = basicHeader(credentialPair(client));
  } else {
    body.set('client_id', client.clientId);
    if (client.authMethod === 'client_secret_post') body.set('client_secret', client.clientSecret ?? '');
  }
  return { body, headers: form };
}

/**
 * The values to scrub from server text: the given tokens that are there, the client secret, and for
 * `client_secret_basic` the Basic credentials (base64 and decoded), which a server may echo (base64 is no disguise: a
 * log reader decodes it).
 *
 * @param client - the credentials and method.
 * @param tokens - the tokens the request carries (any of them may be missing).
 */
export function secretsOf(client: ClientCredentials, ...tokens: unknown[]): string[] {
  const values = [...tokens, client.clientSecret];
  if (client.authMethod === 'client_secret_basic' && client.clientSecret) {
    const pair = credentialPair(client);
    const header = basicHeader(pair);
    values.push(header, header.slice('Basic '.length), pair);
  }
  return values.filter(isNonEmptyString);
}

/** A total deadline over one call, as an abort signal: see {@link deadlineSignal}. */
export interface Deadline {
  /** Fires when the deadline passes or the caller's signal fires. */
  readonly signal: AbortSignal;
  /** Whether it fired because the time ran out (not because the caller aborted). */
  readonly timedOut: () => boolean;
  /** Clears the timer and stops listening to the caller's signal; call it when the call settles. */
  readonly clear: () => void;
}

/**
 * An abort signal that fires after `ms` milliseconds or when `outer` fires, whichever comes first. axios's Node
 * `timeout` is an idle timeout (a server that trickles a byte at a time never trips it), so every request to the
 * authorization server carries this signal instead: the time is bounded from the first byte sent to the last read.
 * Written out rather than `AbortSignal.any` so it runs on every browser the core supports.
 *
 * @param outer - the caller's signal, if any.
 * @param ms - the time allowed, in milliseconds.
 */
export function deadlineSignal(outer: AbortSignal | undefined, ms: number): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = (): void => controller.abort(outer?.reason);
  // Clamped to what setTimeout can hold: a longer delay would fire at once.
  const timer = setTimeout(
    () => {
      timedOut = true;
      controller.abort(new Error('timeoutMs elapsed'));
    },
    Math.min(ms, 2_147_483_647),
  );
  if (outer?.aborted) onAbort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Waits for `promise`, but leaves (rejecting with `onAbort()`) as soon as `signal` fires: for a caller that shares a
 * request with others (discovery) and may not cancel it for them.
 *
 * @param promise - the shared work.
 * @param signal - the caller's signal.
 * @param onAbort - makes the error to reject with.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  let listener: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    listener = () => reject(onAbort());
    signal.addEventListener('abort', listener, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => {
    if (listener) signal.removeEventListener('abort', listener);
  });
}

/**
 * `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B): space as `+`, UTF-8.
 *
 * @param value - the value.
 */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * `clientId:clientSecret` as `client_secret_basic` sends it, each form-encoded first unless `basicAuthEncoding: 'raw'`.
 */
function credentialPair({ clientId, clientSecret = '', basicAuthEncoding }: ClientCredentials): string {
  return basicAuthEncoding === 'form-urlencoded'
    ? `${formEncode(clientId)}:${formEncode(clientSecret)}`
    : `${clientId}:${clientSecret}`;
}

function basicHeader(pair: string): string {
  // btoa takes Latin-1 only; the raw pair may hold any Unicode, so go through its UTF-8 bytes.
  const bytes = new TextEncoder().encode(pair);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/**
 * An AxiosError holds the request config (the body with the refresh token, the Basic header with the secret) and the
 * Node request (its raw header text), which `console.log(error)` prints through `cause`. The copy returned here is a
 * plain Error with only the name, message and code, plus the underlying system error, which holds neither.
 *
 * @param error - what axios threw.
 */
function sanitized(error: unknown): Error & { code?: string } {
  const source = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    cause?: unknown;
  };
  const underlying = source.cause;
  const keepUnderlying =
    underlying instanceof Error &&
    !(underlying as { isAxiosError?: unknown }).isAxiosError &&
    !('config' in underlying);
  const copy: Error & { code?: string } = new Error(
    typeof source.message === 'string' ? source.message : 'Request failed',
    keepUnderlying ? { cause: underlying } : undefined,
  );
  copy.name = typeof source.name === 'string' ? source.name : 'Error';
  if (typeof source.code === 'string') copy.code = source.code;
  return copy;
}

/**
 * Sends one request to the authorization server the way every call of this package does: bounded by the deadline's
 * signal (axios's Node `timeout` is only an idle one), no redirect followed (it would carry the token and the client
 * secret to another URL), every status handed back to be judged by the caller, the body kept as text and at most
 * {@link MAX_RESPONSE_BYTES}, and flagged for this package's interceptors (when the caller's instance is the one the
 * plugin is attached to).
 *
 * The instance's own URL and credential settings stay off it: `url` is absolute and used as it is (whatever the
 * instance's `baseURL` and `allowAbsoluteUrls`), and the instance's `params` and `auth` (an API key, an API password)
 * are not sent to the authorization server. No redirect is followed in a browser either: XHR, axios's browser default,
 * follows every redirect and cannot be told not to, so the request goes through axios's fetch adapter there, with
 * `redirect: 'manual'` (a redirect then answers as status 0: see {@link isRedirect}). Where fetch is missing (jsdom,
 * axios before 1.7) XHR is the last resort: the request may then have gone on to the redirect's target, and metadata
 * from another place (origin and path) is refused (status 0 too). An adapter function of the app's own (a mock, a
 * custom transport) is used as it is.
 *
 * @param client - the axios instance.
 * @param method - `GET` or `POST`.
 * @param url - the endpoint.
 * @param headers - the request headers.
 * @param signal - the deadline's signal.
 * @param data - the form body, for a `POST`.
 */
export async function send(
  client: AxiosInstance,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  data?: string,
): Promise<AxiosResponse<unknown>> {
  const response = await client.request<unknown>({
    url,
    method,
    data,
    headers,
    signal,
    validateStatus: () => true,
    maxRedirects: 0,
    fetchOptions: { redirect: 'manual' },
    adapter: xhrLast(client.defaults.adapter),
    allowAbsoluteUrls: true,
    params: null,
    auth: null,
    maxContentLength: MAX_RESPONSE_BYTES,
    responseType: 'text',
    transformResponse: [(body: unknown) => body],
    skipAuthRefresh: true,
  } as unknown as Parameters<AxiosInstance['request']>[0]);
  // XHR (where fetch is missing) follows a redirect whatever it is told. Metadata from another place is not taken (it
  // would choose the token endpoint); a POST's answer is (the request got there anyway, and refusing the answer would
  // lose tokens the server may have rotated).
  const final = (response.request as { responseURL?: unknown } | null | undefined)?.responseURL;
  const sent = response.config?.url ?? url;
  return method === 'GET' && typeof final === 'string' && final !== '' && place(final, sent) !== place(sent, url)
    ? { ...response, status: 0 }
    : response;
}

/** The origin and path of `url` resolved against `base` (host in lower case, default port dropped); no query. */
function place(url: string, base: string): string | undefined {
  try {
    const parsed = new URL(url, base);
    return parsed.origin + parsed.pathname;
  } catch {
    return undefined;
  }
}

/**
 * The adapters to send with: the instance's, with fetch before XHR (XHR follows redirects; fetch can refuse them).
 * Node keeps its http adapter (axios's default list is `['xhr', 'http', 'fetch']`, and Node has no XHR); XHR stays
 * the last resort where fetch is missing (jsdom, axios before 1.7). An adapter function is the app's own: kept.
 */
function xhrLast(adapter: unknown): unknown {
  return typeof adapter === 'function'
    ? adapter
    : [adapter ?? [], 'fetch']
        .flat()
        .filter((name) => String(name).toLowerCase() !== 'xhr')
        .concat('xhr');
}

/**
 * A status that means a redirect, not followed: a 3xx, or 0: the opaque answer that `redirect: 'manual'` gives in a
 * browser, or metadata XHR fetched from another place (see {@link send}).
 */
export const isRedirect = (status: number): boolean => status === 0 || (status >= 300 && status < 400);

/**
 * The `REFRESH_FAILED` for a request that did not complete, ``<failed>: <what happened> at <endpoint>``, its cause a
 * copy that holds no secret (see {@link sanitized}); `late(cause)` when it ran out of time (the deadline, or a
 * socket-level timeout: as much a timeout for the caller).
 *
 * @param error - what axios threw; undefined when the call was over before the request was sent.
 * @param deadline - the call's deadline.
 * @param failed - what failed, e.g. `Token refresh failed`.
 * @param endpoint - where, e.g. `the token endpoint https://…/token`.
 * @param late - makes the timeout's error (see {@link tooSlow}).
 * @param aborted - what to say when the caller aborted; without it, an abort reads as any other failure.
 */
export function requestError(
  error: unknown,
  deadline: Deadline,
  failed: string,
  endpoint: string,
  late: (cause: Error | undefined) => TokenRefreshError,
  aborted?: string,
): TokenRefreshError {
  const cause = error === undefined ? undefined : sanitized(error);
  const code = cause?.code;
  if (deadline.timedOut() || code === 'ECONNABORTED' || code === 'ETIMEDOUT') return late(cause);
  const what =
    aborted !== undefined && (code === 'ERR_CANCELED' || deadline.signal.aborted)
      ? aborted
      : `the request did not complete (${code ?? 'network error'})`;
  return new TokenRefreshError('REFRESH_FAILED', `${failed}: ${what} at ${endpoint}`, { cause });
}

/**
 * A `REFRESH_FAILED` for a call that ran out of its `timeoutMs`.
 *
 * @param failed - what failed and where, e.g. `Token refresh failed: the token endpoint https://…/token`.
 * @param timeoutMs - the option.
 * @param cause - what the request threw, if anything.
 * @param verb - what the endpoint did not do in time.
 */
export function tooSlow(failed: string, timeoutMs: number, cause?: Error, verb = 'answer'): TokenRefreshError {
  return new TokenRefreshError('REFRESH_FAILED', `${failed} did not ${verb} within ${timeoutMs} ms (timeoutMs)`, {
    cause,
  });
}

/** A 2xx status. */
export const isSuccess = (status: number): boolean => status >= 200 && status < 300;

/** A status that says "later": a 5xx or 429. */
export const isBusy = (status: number): boolean => status >= 500 || status === 429;

/**
 * The RFC 6749 §5.2 members of an error answer, made safe for a message (see {@link oauthError}), named as the
 * {@link TokenRefreshError} members that carry them.
 */
export interface OAuthError {
  readonly oauthError: string;
  readonly oauthErrorDescription: string | undefined;
  readonly oauthErrorUri: string | undefined;
}

/**
 * The RFC 6749 §5.2 members of an error answer, scrubbed of our secrets and kept printable (they go into messages).
 *
 * @param body - the answer, when it is a JSON object.
 * @param secrets - tokens and the client secret to scrub.
 */
export function oauthError(
  body: Record<string, unknown> | undefined,
  secrets: readonly string[],
): OAuthError | undefined {
  const error = body?.['error'];
  if (!isNonEmptyString(error)) return undefined;
  // Server text goes into messages and logs: scrubbed of our secrets and kept printable.
  const clean = (text: unknown): string | undefined =>
    typeof text === 'string' ? printable(scrub(text, secrets)) : undefined;
  return {
    oauthError: clean(error) as string,
    oauthErrorDescription: clean(body?.['error_description']),
    oauthErrorUri: clean(body?.['error_uri']),
  };
}

/** Some servers echo the refresh token in `error_description` ("refresh token abc… not found"). */
function scrub(text: string, secrets: readonly string[]): string {
  let result = text;
  // Longest first, so a value that holds another (the Basic header holds its base64) goes whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length === 0) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), formEncode(secret)])) {
      result = result.split(form).join('[redacted]');
    }
  }
  return result;
}
