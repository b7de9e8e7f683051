import { deleteHeaders } from './headers.js';
import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { challengeAllowsRefresh } from './challenge.js';
import { TokenRefreshError, isTokenRefreshError } from './errors.js';
import type { InstanceOptions, SessionOptions, TokenSession, TokenSessionMethods } from './options.js';
import { createRedirectGuard } from './redirect-guard.js';
import { createSendGuard } from './send-guard.js';
import { answeredInScope, createScope, type Scope } from './scope.js';
import { REDACTED, sentToken } from './redact.js';
import { askApp } from './report.js';
import { Session, sessionKeys, type RequestTokens } from './session.js';
import {
  checkObject,
  checkOptions,
  expected,
  isBoolean,
  isCount,
  isFunction,
  readOptions,
  type Rule,
} from './validate.js';

/** The key under which the plugin keeps its per-request state in the axios request config. */
export const STATE_KEY = 'axios-token-refresh';

/** The plugin's per-request state, kept in the request config under `'axios-token-refresh'`. */
export interface RequestRefreshState {
  /** The token version this request was sent with. */
  readonly version: number;
  /** How many times this request has been replayed after a refresh. */
  readonly replays: number;
  /** Whether the plugin attached an Authorization header (its value is never kept here: configs get logged). */
  readonly attached: boolean;
  /**
   * How many refreshes had failed when this request was sent: its 401 shares the outcome of a refresh that failed
   * after it was sent, rather than starting another one.
   */
  readonly failures?: number;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /**
     * Leave this request alone: no token attached, no waiting for a refresh, no refresh on 401. Use it for the
     * refresh call itself when it goes through the same instance, and for endpoints that must not carry the token.
     *
     * @default false
     */
    skipAuthRefresh?: boolean;
    /**
     * The plugin's per-request state (read it, never set it): which token version the request went out with, how
     * often it was replayed, and whether the plugin attached the token. A string key rather than a symbol, because
     * axios copies only string keys of a config into a replayed request. See {@link RequestRefreshState}.
     */
    'axios-token-refresh'?: RequestRefreshState;
  }
}

/** Options of {@link attachRefresh}: the session's options (or a shared `session`), plus the per-instance ones. */
export type AttachRefreshOptions =
  | (SessionOptions & InstanceOptions & { readonly session?: undefined })
  | (InstanceOptions & {
      /** A session made with `createTokenSession`, to share one refresh between several instances. */
      readonly session: TokenSession;
    });

/** What {@link attachRefresh} returns: the session's methods, plus `detach` and the interceptor ids. */
export interface AttachedRefresh extends TokenSessionMethods {
  /** Ejects its interceptors from the instance. The session (and its tokens) live on. */
  detach(): void;
  /** The session behind this instance: pass it as `{ session }` to attach another instance to the same tokens. */
  readonly session: TokenSession;
  /** The ids axios gave the plugin's request and response interceptors (`detach()` ejects them all). */
  readonly interceptors: { readonly request: readonly number[]; readonly response: number };
}

/** What a failed request's stream body becomes in `error.config.data` (see `redactConfig`). */
const STREAM_REMOVED = '[stream body removed]';
/**
 * Marks an instance that has the plugin attached, shared by every copy of the package (Symbol.for), so that a second
 * attachment (two sessions refreshing with one refresh token: the server sees reuse and revokes the login) is refused.
 */
const ATTACHED = Symbol.for('axios-token-refresh.attached');

const instanceKeys = [
  'session',
  'allowedOrigins',
  'statusCodes',
  'shouldRefresh',
  'maxReplays',
  'redactAuthorization',
] as const satisfies readonly (keyof InstanceOptions | 'session')[];
/** Every option `attachRefresh` takes. */
const optionKeys = [...sessionKeys, ...instanceKeys] as const;

/** The per-instance options' defaults (`allowedOrigins` has none: the instance's own origin is always in scope). */
const instanceDefaults = { statusCodes: [401], maxReplays: 1, redactAuthorization: true };

function checkInstance(instance: unknown): asserts instance is AxiosInstance {
  const candidate = instance as Partial<AxiosInstance> | null | undefined;
  if (
    (typeof candidate !== 'function' && typeof candidate !== 'object') ||
    candidate === null ||
    typeof candidate.request !== 'function' ||
    typeof candidate.interceptors?.request?.use !== 'function' ||
    typeof candidate.interceptors.response?.use !== 'function' ||
    typeof candidate.defaults !== 'object'
  ) {
    throw new TypeError(expected('instance', 'an axios instance (axios.create() or axios itself)', instance));
  }
}

/** The per-instance options' checks (`allowedOrigins` is checked where it is parsed, in scope.ts). */
const instanceRules: readonly Rule[] = [
  [
    'statusCodes',
    'an array of HTTP status codes',
    (codes) => Array.isArray(codes) && codes.every((code) => Number.isInteger(code) && code >= 100 && code <= 599),
  ],
  ['shouldRefresh', 'a function', isFunction],
  ['maxReplays', 'an integer >= 0', isCount],
  ['redactAuthorization', 'a boolean', isBoolean],
];

/** Checks the options and reads each once (see `readOptions`): what the rest of `attachRefresh` uses. */
function checkAttachOptions(options: AttachRefreshOptions): AttachRefreshOptions {
  checkObject(options);
  const unknown = Object.keys(options).find((key) => !(optionKeys as readonly string[]).includes(key));
  if (unknown !== undefined) {
    throw new TypeError(`Unknown option \`${unknown}\`: expected one of ${optionKeys.join(', ')}`);
  }
  const given = readOptions(
    options as SessionOptions & InstanceOptions & { session?: unknown },
    optionKeys,
  ) as AttachRefreshOptions;
  checkOptions(given, instanceRules);
  return given;
}

/** Refuses an instance that is attached already: checked before a session is built, which may open a subscription. */
function checkUnclaimed(instance: AxiosInstance): void {
  if ((instance as unknown as Record<symbol, unknown>)[ATTACHED] === true) {
    throw new TypeError(
      'This axios instance already has axios-token-refresh attached: a second attachment would spend the refresh ' +
        'token twice, and servers that rotate refresh tokens then revoke the login. Call `detach()` on the first ' +
        'one, or share its session: `attachRefresh(other, { session: auth.session })`',
    );
  }
}

function claim(instance: AxiosInstance): void {
  Object.defineProperty(instance, ATTACHED, { value: true, configurable: true, enumerable: false });
}

function resolveSession(options: AttachRefreshOptions): Session {
  if (options.session === undefined) return new Session(options);
  if (!(options.session instanceof Session)) {
    throw new TypeError(
      expected('session', 'a session from createTokenSession() of this copy of axios-token-refresh', options.session),
    );
  }
  const clash = sessionKeys.find((key) => (options as unknown as Record<string, unknown>)[key] !== undefined);
  if (clash !== undefined) {
    throw new TypeError(
      `Expected \`${clash}\` to be given to createTokenSession() when \`session\` is given, not here`,
    );
  }
  return options.session;
}

/** A body that can only be read once (a Node stream or a web ReadableStream) cannot be replayed. */
function isOneShot(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return false;
  return (
    typeof (data as { pipe?: unknown }).pipe === 'function' ||
    typeof (data as { getReader?: unknown }).getReader === 'function'
  );
}

function setHeader(config: InternalAxiosRequestConfig, value: string | undefined, everySpelling = false): void {
  // AxiosHeaders keeps headers as own properties, so plain assignment works on it and on plain objects alike, and it
  // skips the case-insensitive key search of AxiosHeaders#set that every request would pay for. The two spellings
  // in use are both handled; axios merges any other on sending, the later value winning. Removing or redacting our
  // token looks at every spelling: axios may have filed ours under the app's (`AUTHORIZATION`).
  const headers = config.headers as unknown as Record<string, unknown>;
  if (everySpelling) deleteHeaders(headers, /^authorization$/i);
  else if (headers['authorization'] !== undefined) delete headers['authorization'];
  if (value === undefined) delete headers['Authorization'];
  else headers['Authorization'] = value;
}

function getHeader(config: InternalAxiosRequestConfig): unknown {
  const headers = config.headers as unknown as { get?: (name: string) => unknown } & Record<string, unknown>;
  return typeof headers?.get === 'function' ? headers.get('Authorization') : headers?.['Authorization'];
}

function describeRequest(config: InternalAxiosRequestConfig): { method: string; url: string } {
  return { method: (config.method ?? 'get').toUpperCase(), url: config.url ?? '' };
}

/**
 * Replaces the token we attached with `[REDACTED]` (its scheme kept), so that a logged config shows no secret. A
 * stream body goes too: once sent, it references Node's request object, which holds the raw header text.
 */
function redactConfig(config: InternalAxiosRequestConfig | undefined, redact: boolean): void {
  if (!redact || config?.[STATE_KEY]?.attached !== true) return;
  const value = getHeader(config);
  const scheme = typeof value === 'string' && value.includes(' ') ? value.slice(0, value.indexOf(' ')) : 'Bearer';
  setHeader(config, `${scheme} ${REDACTED}`, true);
  if (isOneShot(config.data)) config.data = STREAM_REMOVED;
}

/** The one way a request is rejected: its token redacted in the config, our errors bound to this request. */
function fail(error: unknown, config: InternalAxiosRequestConfig | undefined, redact: boolean): never {
  redactConfig(config, redact);
  throw isTokenRefreshError(error) && config !== undefined ? error.forRequest(config) : error;
}

/** The Node request object keeps the raw request headers (the token), and `console.log(error)` prints it. */
function hideRequest(error: AxiosError): void {
  for (const holder of [error, error.response]) {
    if (holder !== undefined && holder !== null && Object.prototype.propertyIsEnumerable.call(holder, 'request')) {
      Object.defineProperty(holder, 'request', { enumerable: false });
    }
  }
}

/** Leaves a request alone (skipAuthRefresh, or not for the instance's origins); true when it did. */
function leftAlone(config: InternalAxiosRequestConfig, session: Session, inScope: Scope): boolean {
  if (config.skipAuthRefresh !== true && inScope(config)) return false;
  if (session.debugging) {
    session.report({
      type: 'request:skip',
      ...describeRequest(config),
      why: config.skipAuthRefresh ? 'skip' : 'origin',
    });
  }
  // A config replayed onto another origin (or marked skip) must not keep a token we attached earlier.
  if (config[STATE_KEY]?.attached === true) setHeader(config, undefined, true);
  delete config[STATE_KEY];
  return true;
}

/**
 * The request path's last step: attaches the token of `snapshot` (guarding redirects, and the send when other
 * interceptors run after ours) and records the request's state.
 */
function createApply(
  session: Session,
  inScope: Scope,
  othersIntercept: () => boolean,
): (config: InternalAxiosRequestConfig, snapshot: RequestTokens) => InternalAxiosRequestConfig {
  const guardRedirects = createRedirectGuard(inScope);
  // A request an interceptor of the app's held past a failed refresh is sent after it: its 401 refreshes again.
  const guardSend = createSendGuard(inScope, (config) => {
    const state = config[STATE_KEY];
    if (state && state.failures !== session.failures) config[STATE_KEY] = { ...state, failures: session.failures };
  });
  let lastState: RequestRefreshState = { version: -1, replays: 0, attached: false, failures: 0 };
  return (config, snapshot) => {
    const previous = config[STATE_KEY];
    const value = snapshot.authorization;
    const attached = value !== undefined;
    // A replay after logout must not carry the header we attached to its first attempt.
    if (attached || previous?.attached === true) setHeader(config, value, !attached);
    if (attached) {
      guardRedirects(config);
      // Only another request interceptor can move a request after this one decided (the send guard costs a step).
      if (othersIntercept()) guardSend(config);
    } else if (session.debugging) session.report({ type: 'request:skip', ...describeRequest(config), why: 'no-token' });
    const replays = previous?.replays ?? 0;
    const { version } = snapshot;
    const failures = session.failures;
    if (replays > 0) config[STATE_KEY] = { version, replays, attached, failures };
    else {
      // First attempts of one token version share one frozen state object: nothing to allocate per request.
      if (lastState.version !== version || lastState.attached !== attached || lastState.failures !== failures) {
        lastState = Object.freeze({ version, replays: 0, attached, failures });
      }
      config[STATE_KEY] = lastState;
    }
    return config;
  };
}

/**
 * Installs the two request interceptors, exactly one of which runs for each request (axios asks `runWhen` when the
 * request is sent): a synchronous one while the session is settled, an asynchronous one that may wait otherwise.
 * `before` is how many request interceptors the instance had before the plugin (and its DPoP signer) installed any:
 * the ones after it are the plugin's own.
 */
function installRequestPath(
  instance: AxiosInstance,
  session: Session,
  inScope: Scope,
  redact: boolean,
  before: number,
): readonly [settledId: number, requestId: number] {
  let ours = new Set<unknown>();
  /** Whether the instance has request interceptors besides the plugin's (and its DPoP signer's). */
  const othersIntercept = (): boolean => {
    // Read at each request: an app (or axios's clear()) may replace the list. No list: assume others.
    const list: unknown = instance.interceptors.request.handlers;
    return !Array.isArray(list) || list.some((handler: unknown) => handler !== null && !ours.has(handler));
  };
  const apply = createApply(session, inScope, othersIntercept);
  const onRequest = (
    config: InternalAxiosRequestConfig,
  ): InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig> => {
    if (leftAlone(config, session, inScope)) return config;
    const snapshot = session.prepare(config);
    if (!(snapshot instanceof Promise)) return apply(config, snapshot);
    return snapshot.then(
      (ready) => apply(config, ready),
      (error: unknown) => fail(error, config, redact),
    );
  };
  /**
   * The request interceptor for a settled session (tokens loaded, no refresh in flight, none needed first), when
   * `prepare` would answer at once anyway. Flagged synchronous, so that axios skips a promise hop per request when
   * every request interceptor is. Should the session unsettle between axios's `runWhen` and this call (the refresh
   * point passes in between, or an async interceptor of the app's awaited meanwhile), it does not wait: the request
   * goes out with the tokens in use, and a 401 joins the refresh and is replayed like any other.
   */
  const onSettledRequest = (config: InternalAxiosRequestConfig): InternalAxiosRequestConfig =>
    leftAlone(config, session, inScope) ? config : apply(config, session.current);

  const handlers = instance.interceptors.request.handlers;
  const settledId = instance.interceptors.request.use(onSettledRequest, undefined, {
    synchronous: true,
    runWhen: () => session.settled,
  });
  const requestId = instance.interceptors.request.use(onRequest, undefined, { runWhen: () => !session.settled });
  ours = new Set(handlers?.slice(before));
  return [settledId, requestId];
}

type Resend = (
  error: AxiosError,
  config: InternalAxiosRequestConfig,
  why: string,
  state?: RequestRefreshState,
) => Promise<AxiosResponse>;

/**
 * The 401 path, in steps: (1) is it a refusal a new token may cure, for a request we attached a token to? (2) are
 * replays left? (3) are there tokens to refresh? then refresh for the version the request carried (joining a
 * refresh in flight, or none at all when newer tokens already exist) and (4) replay, if the body can be sent again.
 */
function createResponsePath(
  instance: AxiosInstance,
  session: Session,
  inScope: Scope,
  options: InstanceOptions,
  redact: boolean,
  life: { readonly detached: boolean },
): readonly [resend: Resend, onResponseError: (error: AxiosError) => Promise<AxiosResponse>] {
  const statusCodes = new Set(options.statusCodes ?? instanceDefaults.statusCodes);
  const shouldRefresh = refreshPredicate(options.shouldRefresh, session);
  const maxReplays = options.maxReplays ?? instanceDefaults.maxReplays;

  /** Step 1: a refused token (a refreshable status and challenge), answered from within the scope. */
  const isRefusal = (error: AxiosError): boolean => {
    const status = error?.response?.status;
    // A 401 from a redirect target out of scope (it never got the token) is not ours to cure.
    return status !== undefined && statusCodes.has(status) && shouldRefresh(error) && answeredInScope(inScope, error);
  };

  /** Step 4: sends the request again; with `state`, as a replay after a refresh (counted). DPoP's nonce retry too. */
  const resend: Resend = (error, config, why, state) => {
    // Detached meanwhile: nothing of ours would run on the way out, so the refused token would go again, unredacted.
    if (life.detached) fail(error, config, redact);
    const { method, url } = describeRequest(config);
    if (isOneShot(config.data)) {
      const message = `Request not replayed ${why}: its body is a stream that was already sent (${method} ${url})`;
      fail(refusal('REQUEST_NOT_REPLAYABLE', message, error, config), config, redact);
    }
    if (state) {
      const replays = state.replays + 1;
      if (session.debugging) session.report({ type: 'request:replay', method, url, replay: replays });
      config[STATE_KEY] = { ...state, replays };
    }
    return instance.request(config);
  };

  const onResponseError = async (error: AxiosError): Promise<AxiosResponse> => {
    const config = error?.config;
    const state = config?.[STATE_KEY];
    // A state means the error is an object: it has a config.
    if (redact && state?.attached === true) hideRequest(error);
    if (config === undefined || state === undefined || !isRefusal(error)) return fail(error, config, redact);
    if (state.replays >= maxReplays) {
      // Step 2: not replayed, but the token is refused all the same: the next request refreshes before it is sent.
      session.markRefused(state.version);
      return fail(error, config, redact);
    }
    // Step 3: no tokens to refresh.
    if (session.getTokens() === null && state.version === session.version)
      return fail(noTokensError(session, error, config), config, redact);
    try {
      await session.refreshFor(state.version, 'unauthorized', config, state.failures);
    } catch (refreshError) {
      return fail(refreshError, config, redact);
    }
    return resend(error, config, 'after the token refresh', state);
  };
  return [resend, onResponseError];
}

/** The response's `WWW-Authenticate`, in any spelling (AxiosHeaders#get; a mock adapter's `WWW-Authenticate`). */
function challengeOf(error: AxiosError): unknown {
  const headers = error.response?.headers as { get?: (name: string) => unknown } | undefined;
  return typeof headers?.get === 'function' ? headers.get('www-authenticate') : undefined;
}

/**
 * Whether a refusal refreshes: the app's `shouldRefresh`, asked so that an async or throwing one is a no (see
 * `askApp`), else the `WWW-Authenticate` challenge for the scheme in use.
 */
function refreshPredicate(own: InstanceOptions['shouldRefresh'], session: Session): (error: AxiosError) => boolean {
  // AxiosHeaders#get finds any spelling (a custom or mock adapter's `WWW-Authenticate`).
  if (!own) return (error) => challengeAllowsRefresh(challengeOf(error), session.dpop);
  return (error) => {
    const secrets = [sentToken(error.config), session.getTokens()?.accessToken];
    return !!askApp(own, [error], 'the `shouldRefresh` function', 'No refresh was made.', secrets);
  };
}

/** When there are no tokens to refresh: the server's own 401, or `SESSION_EXPIRED` once the session has ended. */
function noTokensError(session: Session, error: AxiosError, config: InternalAxiosRequestConfig): unknown {
  return session.ended
    ? refusal('SESSION_EXPIRED', 'Request refused: the session has ended; log in again', error, config)
    : error;
}

/** Our error for a request the server refused, with its response's status. */
function refusal(
  code: 'REQUEST_NOT_REPLAYABLE' | 'SESSION_EXPIRED',
  message: string,
  error: AxiosError,
  config: InternalAxiosRequestConfig,
): TokenRefreshError {
  return new TokenRefreshError(code, message, { cause: error, status: error.response?.status, config });
}

/**
 * Attaches single-flight token refresh to an axios instance: the request interceptor adds
 * `Authorization: <tokenType> <accessToken>` to requests for the instance's own origin (waiting while a refresh is in
 * flight, refreshing first when the token is missing or about to expire); the response interceptor turns a 401 into
 * ONE refresh that all concurrent failures share, then replays them with the new token.
 *
 * @param instance - an axios instance (`axios.create()`), or the default `axios`.
 * @param options - see {@link SessionOptions} and {@link InstanceOptions}; or `{ session }` to share a session.
 *   Invalid options throw a `TypeError` naming the option.
 * @returns the session's methods, `detach()` and the interceptor ids.
 * @example
 * ```ts
 * const api = axios.create({ baseURL: 'https://api.example.com' });
 * const auth = attachRefresh(api, {
 *   tokens: await loadTokens(),
 *   refresh: refreshTokenGrant({ tokenUrl: 'https://auth.example.com/token', clientId: 'my-app' }),
 *   onTokens: saveTokens,
 * });
 * ```
 */
export function attachRefresh(instance: AxiosInstance, options: AttachRefreshOptions): AttachedRefresh {
  checkInstance(instance);
  const given = checkAttachOptions(options);
  const inScope = createScope(instance.defaults, given.allowedOrigins);
  checkUnclaimed(instance);
  const session = resolveSession(given);
  claim(instance);
  const redact = given.redactAuthorization ?? instanceDefaults.redactAuthorization;
  const life = { detached: false };
  const [resend, onResponseError] = createResponsePath(instance, session, inScope, given, redact, life);
  // Installed first: its request interceptor runs after ours (axios runs them last-registered-first) to sign what we
  // attached, its response interceptor before ours, to answer use_dpop_nonce without a refresh.
  // Ours are the interceptors from here on, the DPoP signer's included.
  const before = instance.interceptors.request.handlers?.length ?? 0;
  const uninstallDpop = session.dpop?.install(instance, resend);
  const request = installRequestPath(instance, session, inScope, redact, before);
  const response = instance.interceptors.response.use(undefined, onResponseError);

  return {
    session: session as unknown as TokenSession,
    interceptors: { request, response },
    getTokens: () => session.getTokens(),
    setTokens: (tokens) => session.setTokens(tokens),
    refresh: () => session.refresh(),
    on: (event, listener) => session.on(event, listener),
    logout: (options) => session.logout(options),
    getAccessToken: (options) => session.getAccessToken(options),
    close: () => session.close(),
    detach: () => {
      if (life.detached) return;
      life.detached = true;
      for (const id of request) instance.interceptors.request.eject(id);
      instance.interceptors.response.eject(response);
      uninstallDpop?.();
      delete (instance as unknown as Record<symbol, unknown>)[ATTACHED];
    },
  };
}
