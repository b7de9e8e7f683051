import { CanceledError } from 'axios';
import { TokenRefreshError, classifyRefreshFailure, describeThrown, isTokenRefreshError } from './errors.js';
import type {
  DebugEvent,
  DpopHooks,
  LogoutResult,
  RefreshReason,
  SessionEventName,
  SessionEvents,
  SessionOptions,
  TokenSession,
  TokenSessionMethods,
  TokenSnapshot,
} from './options.js';
import { scrubSecrets } from './redact.js';
import { callApp, warnCallbackError } from './report.js';
import { isMalformedRecord, MemoryTokenStore, type EndReason, type StoredTokens, type TokenStore } from './store.js';
import { checkTokenInput, normalizeRefreshResult, refreshTokenIn, rotatedIn, type TokenSet } from './tokens.js';
import {
  checkObject,
  checkOptions,
  expected,
  isBoolean,
  isFunction,
  isNumberFrom,
  readOptions,
  type Rule,
} from './validate.js';
import { within } from './within.js';

/** The session options' defaults, in one place. */
const defaults = {
  refreshTimeoutMs: 30_000,
  leewayMs: 10_000,
  refreshTokenRequired: true,
};

/** Every option of a session, each read once (see `readOptions`). @internal */
export const sessionKeys = [
  'tokens',
  'refresh',
  'onTokens',
  'store',
  'refreshTimeoutMs',
  'leewayMs',
  'refreshTokenRequired',
  'debug',
  'dpop',
] as const satisfies readonly (keyof SessionOptions)[];

/** Something a waiting request can be cancelled by: axios's `signal` (and the legacy `cancelToken`). */
export interface WaitSignal {
  readonly signal?:
    | { readonly aborted: boolean; addEventListener?: unknown; removeEventListener?: unknown }
    | undefined;
  readonly cancelToken?: { readonly promise: Promise<unknown> } | undefined;
}

/** The tokens a request goes out with, and the Authorization value made from them once. */
export interface RequestTokens extends TokenSnapshot {
  /** `<tokenType> <accessToken>`, or undefined when there is no access token. */
  readonly authorization: string | undefined;
}

interface Flight {
  readonly version: number;
  readonly promise: Promise<void>;
  /** Aborts the refresh call when a login or logout supersedes this flight. */
  readonly controller: AbortController;
  /** Settles the waiters early: go on with the tokens in use (no error), or fail with `error`. */
  release: (error?: TokenRefreshError) => void;
  /** What waiters race against the flight's own outcome. */
  readonly released: Promise<void>;
  superseded: boolean;
  /**
   * The flight's failure is every waiter's unless newer tokens than this version came in meanwhile (a login). Raised
   * when the failed flight itself kept a rotated refresh token: that is no login.
   */
  failsUpTo: number;
}

/** A flight that holds the store's lock, and the lock's signal (aborted when its lease is lost). */
interface Held {
  readonly flight: Flight;
  /** The store lock's signal; none for a late answer (it is adopted outside the lock). */
  readonly lock?: AbortSignal;
  /** What the flight fails with, when it fails all the same (a rotated refresh token kept from a refused answer). */
  readonly failure?: unknown;
  /** The refresh token the flight presented: spent, whatever record carries it. */
  readonly spent?: string | undefined;
}

/** What a grant function may carry beside its call signature (see `refreshTokenGrant`, `clientCredentialsGrant`). */
interface GrantExtras {
  // biome-ignore lint/suspicious/noConfusingVoidType: a custom grant's revoke may be any `async () => {}`
  readonly revoke?: (tokens: TokenSet, context: { readonly signal: AbortSignal }) => Promise<boolean | void>;
  readonly needsRefreshToken?: boolean;
  readonly dpop?: DpopHooks;
}

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Waits for `promise`, unless the request is cancelled first: that stops this wait, never the refresh it waits for. */
function untilCanceled<T>(promise: Promise<T>, cancel?: WaitSignal): Promise<T> {
  const signal = cancel?.signal;
  const cancelToken = cancel?.cancelToken;
  if (!signal && !cancelToken) return promise;
  return new Promise<T>((resolve, reject) => {
    const canceled = (): void => {
      cleanup();
      reject(new CanceledError());
    };
    const cleanup = (): void => {
      if (signal && typeof signal.removeEventListener === 'function') {
        (signal.removeEventListener as (t: string, l: () => void) => void)('abort', canceled);
      }
    };
    if (signal?.aborted) {
      canceled();
      return;
    }
    if (signal && typeof signal.addEventListener === 'function') {
      (signal.addEventListener as (t: string, l: () => void, o: unknown) => void)('abort', canceled, { once: true });
    }
    cancelToken?.promise.then(canceled, () => undefined);
    promise.then(cleanup, cleanup);
    promise.then(resolve, reject);
  });
}

/**
 * When requests start refreshing before they are sent: `leewayMs` before the expiry, at most half the token's
 * lifetime; never (Infinity) when the expiry is unknown. `fromApp`: not fresh from this session's refresh.
 */
function refreshPoint(tokens: TokenSet | null, fromApp: boolean, leewayMs: number): number {
  const expiresAt = tokens?.expiresAt;
  if (expiresAt === undefined) return Number.POSITIVE_INFINITY;
  const lifetime = expiresAt - Date.now();
  // Fresh tokens that are already expired can't be trusted for timing (clock skew, a bad server): rely on 401s,
  // or every request would refresh.
  if (lifetime <= 0) return fromApp ? expiresAt : Number.POSITIVE_INFINITY;
  return expiresAt - Math.min(leewayMs, lifetime / 2);
}

type Listeners = { [E in SessionEventName]: Set<(payload: SessionEvents[E]) => void> };

/** How many replaced refresh tokens a session remembers, to know an older backup put back (see `#isBackup`). */
const SPENT_KEPT = 16;

/** Adds `token` to a list of the last {@link SPENT_KEPT}. */
function remember(list: string[], token: string): void {
  if (list.push(token) > SPENT_KEPT) list.shift();
}

/** Whether two token sets are the same tokens (one may be a store's copy of the other). */
function sameTokens(a: TokenSet | null, b: TokenSet | null): boolean {
  return (
    a !== null &&
    b !== null &&
    a.accessToken === b.accessToken &&
    a.refreshToken === b.refreshToken &&
    a.expiresAt === b.expiresAt
  );
}

/** Whether a store's record is an emptied store (Redis lost its data, the file was deleted): nothing written since. */
function isEmptied(stored: StoredTokens): boolean {
  return stored.version === 0 && stored.tokens === null;
}

/** logout's option. */
const logoutRules: readonly Rule[] = [['revoke', 'a boolean', isBoolean]];

/** getAccessToken's option. */
const accessTokenRules: readonly Rule[] = [['minValidityMs', 'a finite number >= 0', isNumberFrom(0)]];

/** The session options' checks, in order: the first one broken is the one reported. */
const sessionRules: readonly Rule[] = [
  ['refresh', 'a function', isFunction, true],
  ['onTokens', 'a function', isFunction],
  ['debug', 'a function', isFunction],
  ['refreshTimeoutMs', 'a finite number > 0', isNumberFrom(0, true)],
  ['leewayMs', 'a finite number >= 0', isNumberFrom(0)],
  ['refreshTokenRequired', 'a boolean', isBoolean],
  ['dpop', 'the result of createDpop()', (dpop) => typeof (dpop as DpopHooks | null)?.install === 'function'],
  [
    'store',
    'a TokenStore (read, write, withLock)',
    (store) =>
      typeof store === 'object' &&
      store !== null &&
      ['read', 'write', 'withLock'].every((method) => typeof (store as Record<string, unknown>)[method] === 'function'),
  ],
];

/**
 * The token session: the current tokens and their version, the single-flight refresh, the waiting requests and the
 * events. The only place that knows about versions; `attach.ts` asks it for tokens and for refreshes.
 *
 * @internal Use {@link createTokenSession}; the methods not on {@link TokenSession} are for `attachRefresh`.
 */
export class Session implements TokenSessionMethods {
  readonly #refresh: SessionOptions['refresh'];
  readonly #onTokens: SessionOptions['onTokens'];
  readonly #debug: SessionOptions['debug'];
  readonly #timeoutMs: number;
  readonly #leewayMs: number;
  readonly #refreshTokenRequired: boolean;
  readonly #store: TokenStore;
  readonly #listeners: Listeners = { tokens: new Set(), refreshError: new Set(), sessionExpired: new Set() };

  #tokens: TokenSet | null = null;
  #version = 0;
  /** Epoch ms from which requests refresh before they are sent; Infinity when the expiry is unknown. */
  #refreshAt = Number.POSITIVE_INFINITY;
  /** The version a 401 came back for, whose refresh has not succeeded yet. */
  #staleVersion = -1;
  /** How many flights have failed (see {@link Session.failures}), and the last one's error. */
  #failures = 0;
  #lastFailure: TokenRefreshError | undefined;
  /**
   * The version at which the tokens in use were adopted. A store write that only records them again (see
   * `#writeBack`) raises the version, not this: a request sent with them at an older version was sent with these.
   */
  #tokensSince = 0;
  #ended = false;
  #endError: TokenRefreshError | undefined;
  /**
   * What requests are sent with, rebuilt at each adoption and only then (the request path allocates nothing); its
   * identity also tells whether an adoption is still the latest (see `#settle`).
   */
  #current: RequestTokens = { tokens: null, version: 0, authorization: undefined };
  #flight: Flight | undefined;
  /** What `#writeEnd` adopted, until `#announceEnd` has announced it. */
  #pendingEnd: RequestTokens | undefined;
  #loading: Promise<void> | undefined;
  #loader: (() => Promise<void>) | undefined;
  #unsubscribe: (() => void) | undefined;
  /** How many setTokens are between their start and their adoption; waiters superseded meanwhile wait for all. */
  #replacing = 0;
  /** Releases of waiters that a login superseded, run when the last setTokens of a burst has adopted its tokens. */
  readonly #released: (() => void)[] = [];
  /** The logout in progress, which a second call joins. */
  #loggingOut: Promise<LogoutResult> | undefined;
  /** Settles requests waiting for the `tokens` loader when a login replaces it. */
  #loaderWake = deferred();
  /** The grant can get tokens from nothing (client credentials): no tokens means "get some", not "logged out". */
  readonly #canMint: boolean;

  /**
   * The tokens in use before the current ones (rotated out, or ended by a logout or refusal): an error the app's code
   * throws about them just after the change is scrubbed of them too.
   */
  #replaced: TokenSet | null = null;
  /**
   * The last {@link SPENT_KEPT} refresh tokens this session saw replaced by newer tokens (rotated, or a new login): a
   * store record at a lower version that carries one is an older backup put back, never a new login (see
   * `#isBackup`). A logout or an end is no replacement: the next login may bring the same refresh token back.
   */
  readonly #spent: string[] = [];
  /**
   * The last {@link SPENT_KEPT} access tokens this session replaced: tokens without a refresh token at our version that
   * carry one are ours from before (failed store writes left them there), not another login (see `#otherLogin`).
   */
  readonly #replacedAccess: string[] = [];
  /** Aborted by `close()`: stops a write-back (see `#writeBack`), which would keep a process alive. */
  readonly #closing = new AbortController();

  /** The session's DPoP key: `attachRefresh` installs its interceptors on every instance of the session. */
  readonly dpop: DpopHooks | undefined;

  /** @param options - see {@link SessionOptions}; validated here. */
  constructor(input: SessionOptions) {
    checkObject(input);
    const options = readOptions(input, sessionKeys);
    // A key given only to the grant (refreshTokenGrant({ dpop })) is the session's too, checked as its own: the
    // grant's tokens are bound to it.
    (options as { dpop?: DpopHooks | undefined }).dpop ??= (options.refresh as GrantExtras | undefined)?.dpop;
    checkOptions(options, sessionRules);
    this.#refresh = options.refresh;
    this.#onTokens = options.onTokens;
    this.#debug = options.debug;
    this.#timeoutMs = options.refreshTimeoutMs ?? defaults.refreshTimeoutMs;
    this.#leewayMs = options.leewayMs ?? defaults.leewayMs;
    this.#refreshTokenRequired = options.refreshTokenRequired ?? defaults.refreshTokenRequired;
    this.dpop = options.dpop;

    const source = options.tokens;
    if (source === undefined && options.store === undefined) {
      throw new TypeError(
        expected('tokens', 'a TokenSet, a function that loads one, or `null` for "not logged in yet"', source),
      );
    }
    this.#canMint = (options.refresh as GrantExtras).needsRefreshToken === false;
    const initial = typeof source === 'function' ? null : checkTokenInput(source, 'tokens');
    if (options.store === undefined && typeof source !== 'function') {
      // The common case costs nothing: tokens in memory, known at once.
      this.#store = new MemoryTokenStore(initial);
      this.#adopt({ tokens: initial, version: 0 }, true);
      return;
    }
    this.#store = options.store ?? new MemoryTokenStore();
    const load = typeof source === 'function' ? async () => checkTokenInput(await source(), 'tokens') : () => initial;
    this.#loader = () => this.#load(load);
    this.#unsubscribe = this.#store.subscribe?.((stored) => this.#onStoreWrite(stored));
  }

  // ---- TokenSession -------------------------------------------------------------------------------------------

  /** {@inheritDoc TokenSession.getTokens} */
  getTokens(): TokenSet | null {
    return this.#tokens;
  }

  /** {@inheritDoc TokenSession.setTokens} */
  async setTokens(tokens: TokenSet | null): Promise<void> {
    const checked = checkTokenInput(tokens, 'setTokens(tokens)');
    const failure = await this.#replace(checked);
    if (failure) throw failure;
  }

  /** {@inheritDoc TokenSession.logout} */
  logout(options: { readonly revoke?: boolean } = {}): Promise<LogoutResult> {
    checkObject(options);
    const { revoke } = checkOptions(options, logoutRules);
    // A second call while one runs (a double click on "Sign out") joins it: one revocation, one `tokens` event.
    this.#loggingOut ??= this.#logout(revoke !== false).finally(() => {
      this.#loggingOut = undefined;
    });
    return this.#loggingOut;
  }

  async #logout(revoke: boolean): Promise<LogoutResult> {
    const loggedOut = new TokenRefreshError('LOGGED_OUT', 'Request not sent: the app logged out while it waited');
    // Requests waiting for a refresh fail now; the refresh itself finishes (under the lock, below), so that the
    // refresh token it may already have rotated at the server is the one revoked.
    this.#flight?.release(loggedOut);
    await this.#ready().catch(() => undefined);
    let result: LogoutResult = { revoked: false };
    const clear = async (): Promise<void> => {
      const stored = await this.#read().catch(() => undefined);
      // Revoke the newest tokens: the store's when another process wrote newer ones; else ours (at our version the
      // store holds our tokens, or older ones when the write of refreshed tokens failed).
      const tokens = stored === undefined || stored.version <= this.#version ? this.#tokens : stored.tokens;
      result = await this.#revoke(revoke ? tokens : null);
      await this.#clearForLogout(stored, loggedOut);
    };
    try {
      // Under the refresh lock: no refresh anywhere can rotate the tokens between the revocation and the clearing.
      await this.#store.withLock(clear, { leaseMs: this.#timeoutMs * 3 + 5_000, waitMs: this.#timeoutMs });
    } catch {
      // The lock could not be had in time (a hung holder elsewhere, a store that is down): log out all the same.
      if (this.#tokens !== null) await clear().catch(() => this.#clearLocally(loggedOut));
    }
    if (result.error) this.#emit('refreshError', result.error);
    return result;
  }

  /** Revokes `tokens` through the grant, bounded by `refreshTimeoutMs`; reports instead of throwing. */
  async #revoke(tokens: TokenSet | null): Promise<LogoutResult> {
    const revoke = (this.#refresh as GrantExtras).revoke;
    if (tokens === null || typeof revoke !== 'function') return { revoked: false };
    const controller = new AbortController();
    try {
      const done = await within(
        revoke.call(this.#refresh, tokens, { signal: controller.signal }),
        this.#timeoutMs,
        () => {
          controller.abort();
          return new TokenRefreshError(
            'REFRESH_TIMEOUT',
            `Token revocation did not settle within ${this.#timeoutMs} ms`,
          );
        },
      );
      // A grant that found no revocation endpoint (in the server's metadata) says so with `false`.
      return { revoked: done !== false };
    } catch (thrown) {
      return { revoked: false, error: this.#scrub(classifyRefreshFailure(thrown), tokens) };
    }
  }

  /**
   * Clears the tokens that were there when logout began. A login made meanwhile (a newer version) wins; a store that
   * fails still leaves this session logged out.
   */
  async #clearForLogout(stored: StoredTokens | undefined, loggedOut: TokenRefreshError): Promise<void> {
    if (stored === undefined) return this.#clearLocally(loggedOut);
    const written = await this.#write(null, stored.version, 'logout').catch(() => undefined);
    if (written === undefined) return this.#clearLocally(loggedOut);
    if (written === null) {
      // Someone wrote first: a login made meanwhile wins. A store that refused with nothing newer to show breaks the
      // compare-and-set contract; this session logs out all the same.
      await this.#catchUp().catch(() => undefined);
      if (this.#version <= stored.version) await this.#clearLocally(loggedOut);
      return;
    }
    this.#adoptOwn(written, true, loggedOut);
    this.#supersede(loggedOut);
    this.#reportError(await this.#settle(null, this.#current));
  }

  /** Logs this session out when the store cannot be written: no request here carries the tokens any more. */
  async #clearLocally(loggedOut: TokenRefreshError): Promise<void> {
    if (this.#tokens === null) return;
    this.#adoptOwn({ tokens: null, version: this.#version }, true, loggedOut);
    this.#supersede(loggedOut);
    this.#reportError(await this.#settle(null, this.#current));
  }

  /** {@inheritDoc TokenSession.getAccessToken} */
  async getAccessToken(options: { readonly minValidityMs?: number } = {}): Promise<string> {
    checkObject(options);
    const { minValidityMs } = checkOptions(options, accessTokenRules);
    for (let refreshed = false; ; refreshed = true) {
      await this.#ready();
      if (this.#flight) {
        await this.#join(this.#flight);
        continue;
      }
      const access = this.#accessFor(minValidityMs, refreshed);
      if (access !== undefined) return access;
      if (this.#tokens === null && !this.#canMint) {
        throw this.#endError?.code === 'SESSION_EXPIRED'
          ? this.#endError
          : new TokenRefreshError('SESSION_EXPIRED', 'No access token: there are no tokens (not logged in)');
      }
      if (refreshed) {
        throw new TokenRefreshError('REFRESH_FAILED', 'No valid access token: the refresh did not produce one');
      }
      // The same reasons as requests', plus one: a token valid for less than `minValidityMs` counts as expired.
      await this.refreshFor(this.#version, this.#reasonToRefresh() ?? 'expired');
    }
  }

  /**
   * The access token in use, when it serves a caller that needs it valid for `min` ms more. By default the same rule
   * as requests (leewayMs, at most half the token's lifetime); after one refresh, a token shorter-lived than asked is
   * still the best there is, as long as it is valid. A token a 401 refused never serves.
   */
  #accessFor(min: number | undefined, refreshed: boolean): string | undefined {
    const access = this.#tokens?.accessToken;
    const expiresAt = this.#tokens?.expiresAt;
    if (!access || this.#staleVersion === this.#version) return undefined;
    const now = Date.now();
    const fresh = min === undefined ? now < this.#refreshAt : expiresAt === undefined || expiresAt - now > min;
    const valid = expiresAt === undefined || now < expiresAt;
    return fresh || (refreshed && valid) ? access : undefined;
  }

  /** {@inheritDoc TokenSession.refresh} */
  async refresh(): Promise<TokenSet> {
    // Loaded tokens start the flight at once, so that a request sent right after this call waits for it.
    if (this.#loader) await this.#ready();
    await this.refreshFor(this.#version, 'manual');
    const tokens = this.#tokens;
    if (tokens === null) {
      throw new TokenRefreshError('SESSION_EXPIRED', 'Token refresh refused: there are no tokens (not logged in)');
    }
    return tokens;
  }

  /** {@inheritDoc TokenSession.on} */
  on<E extends SessionEventName>(event: E, listener: (payload: SessionEvents[E]) => void): () => void {
    const listeners = Object.hasOwn(this.#listeners, event)
      ? (this.#listeners[event] as Set<(payload: SessionEvents[E]) => void>)
      : undefined;
    if (!listeners) {
      throw new TypeError(expected('event', `one of ${Object.keys(this.#listeners).join(', ')}`, event));
    }
    if (typeof listener !== 'function') throw new TypeError(expected('listener', 'a function', listener));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** {@inheritDoc TokenSession.close} */
  async close(): Promise<void> {
    this.#closing.abort();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const set of Object.values(this.#listeners)) set.clear();
  }

  // ---- for attachRefresh ----------------------------------------------------------------------------------------

  /** Whether the session ended (refused for good, or logged out) and has no tokens since. */
  get ended(): boolean {
    return this.#ended && this.#tokens === null;
  }

  /** The version of the tokens in use now. */
  get version(): number {
    return this.#version;
  }

  /** Whether a debug hook listens (so callers can skip building events nobody reads). */
  get debugging(): boolean {
    return this.#debug !== undefined;
  }

  /** Reports to the debug hook, if any. A hook that throws is reported as a warning, never to the caller. */
  report(event: DebugEvent): void {
    if (!this.#debug) return;
    callApp(this.#debug, event, (error) => warnCallbackError('the `debug` hook', this.#scrub(error)));
  }

  /**
   * Whether {@link Session.prepare} answers at once: tokens loaded, no refresh in flight, none needed first. What a
   * request interceptor asks to know whether axios may run it synchronously.
   */
  get settled(): boolean {
    return this.#loader === undefined && this.#flight === undefined && this.#reasonToRefresh() === undefined;
  }

  /**
   * How many refreshes have failed so far. A request records it when sent: a refresh that failed after that was for
   * its tokens too (see {@link Session.refreshFor}).
   */
  get failures(): number {
    return this.#failures;
  }

  /** The tokens in use now, whatever is in flight: what a request goes out with when it cannot wait. */
  get current(): RequestTokens {
    return this.#current;
  }

  /**
   * The tokens to send a request with. Synchronous in the common case; waits (a promise) while tokens load or a
   * refresh is in flight, and refreshes first when the access token is missing, expiring, or known to be refused.
   *
   * @param cancel - the request's abort signal / cancel token: it stops the wait, not the shared refresh.
   */
  prepare(cancel?: WaitSignal): RequestTokens | Promise<RequestTokens> {
    if (this.#loader) return this.#ready().then(() => this.prepare(cancel));
    if (this.#flight) return this.#join(this.#flight, cancel).then(() => this.#current);
    const reason = this.#reasonToRefresh();
    if (reason === undefined) return this.#current;
    return this.#refreshBeforeSend(reason, cancel);
  }

  /**
   * Makes sure the tokens are newer than `version`: when they already are, resolves at once; when a refresh is in
   * flight, joins it; otherwise starts one. Rejects with a {@link TokenRefreshError}, or axios's cancel error when
   * `cancel` fires first.
   *
   * @param version - the version the caller's tokens had (the request's 401 was for it).
   * @param reason - why.
   * @param cancel - stops this caller's wait, not the refresh.
   * @param failures - {@link Session.failures} when the caller's request was sent: when a refresh for the tokens in
   *   use failed since, the caller shares its error instead of starting another (a burst's late 401s after a failed
   *   refresh would each start one). A request sent after the failure refreshes again.
   */
  refreshFor(version: number, reason: RefreshReason, cancel?: WaitSignal, failures?: number): Promise<void> {
    // Also when joining a flight: if that flight fails, the next request must not go out with the refused token.
    if (reason === 'unauthorized') this.markRefused(version);
    // A flight still persisting must finish before anyone uses its tokens, so join it before comparing versions.
    if (this.#flight) return this.#join(this.#flight, cancel);
    if (!this.#inUse(version)) {
      return this.ended
        ? Promise.reject(
            this.#endError ??
              new TokenRefreshError('SESSION_EXPIRED', 'Token refresh refused earlier: the session has ended'),
          )
        : Promise.resolve();
    }
    if (failures !== undefined && failures < this.#failures && this.#lastFailure) {
      return Promise.reject(this.#lastFailure);
    }
    const current = this.#version;
    const flight = this.#startFlight(current, (started) => this.#fly(current, reason, started));
    return this.#join(flight, cancel);
  }

  /** Whether requests sent at `version` were sent with the tokens in use now. */
  #inUse(version: number): boolean {
    return version === this.#version || (version >= this.#tokensSince && version < this.#version);
  }

  /**
   * Remembers that the server refused the tokens of `version` (a 401 the caller will not refresh for, e.g. its
   * replays are used up), so that the next request refreshes before it is sent instead of sending them again.
   *
   * @param version - the version the refused request was sent with; an older one changes nothing.
   */
  markRefused(version: number): void {
    if (this.#inUse(version) && this.#tokens !== null) this.#staleVersion = this.#version;
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  /** Makes `run` the flight every request waits for, until it settles or a login/logout supersedes it. */
  #startFlight(version: number, run: (flight: Flight) => Promise<void>): Flight {
    const wake = deferred();
    const flight: Flight = {
      version,
      promise: undefined as unknown as Promise<void>,
      controller: new AbortController(),
      released: wake.promise,
      release: (error) => (error ? wake.reject(error) : wake.resolve()),
      superseded: false,
      failsUpTo: version,
    };
    this.#flight = flight;
    const promise = run(flight);
    (flight as { promise: Promise<void> }).promise = promise;
    const clear = (): void => {
      if (this.#flight === flight) this.#flight = undefined;
    };
    promise.then(clear, clear);
    return flight;
  }

  /**
   * A login or logout happened: the flight in progress refreshes tokens nobody uses any more. Its waiters go on at
   * once with the new tokens (or fail with `error`), and the refresh call is aborted; its late answer is ignored.
   */
  #supersede(error?: TokenRefreshError): void {
    const flight = this.#flight;
    const wake = this.#loader ? this.#loaderWake : undefined;
    if (flight) {
      flight.superseded = true;
      this.#flight = undefined;
      flight.controller.abort(new Error('superseded by setTokens or logout'));
    }
    if (this.#loader) {
      // A login replaces the loader: it is neither waited for nor allowed to fail anyone now.
      this.#loader = undefined;
      this.#loading?.catch(() => undefined);
      this.#loading = undefined;
      this.#loaderWake = deferred();
    }
    if (error) {
      flight?.release(error);
      wake?.reject(error);
      return;
    }
    // Waiters go on once the last setTokens begun in this instant has adopted its tokens (a logout and a login back to
    // back), so that they never read an intermediate state.
    if (flight) this.#released.push(() => flight.release());
    if (wake) this.#released.push(() => wake.resolve());
    if (this.#replacing === 0) this.#releaseWaiters();
  }

  /** Lets go the waiters that logins superseded. */
  #releaseWaiters(): void {
    for (const release of this.#released.splice(0)) release();
  }

  /**
   * Writes tokens the app chose (a login, a logout), whatever is in flight: they win over every refresh. Returns
   * `onTokens`' failure, since the tokens are in use all the same.
   */
  async #replace(tokens: TokenSet | null): Promise<TokenRefreshError | undefined> {
    this.#replacing += 1;
    let adopted = false;
    try {
      return await this.#replaceCounted(tokens, () => {
        // Counted out as soon as its tokens are adopted: the last of a burst lets the waiters go.
        adopted = true;
        this.#replacing -= 1;
      });
    } finally {
      if (!adopted) this.#replacing -= 1;
      if (this.#replacing === 0) this.#releaseWaiters();
    }
  }

  async #replaceCounted(tokens: TokenSet | null, adopted: () => void): Promise<TokenRefreshError | undefined> {
    let stored: StoredTokens | null = null;
    // The version check only guards against writers racing us; an explicit login/logout wins over all of them.
    for (let attempt = 0; stored === null && attempt < 10; attempt += 1) {
      const current = (await this.#readOrOwn()).version;
      stored = await this.#write(tokens, current);
    }
    if (stored === null) {
      throw new TokenRefreshError('PERSIST_FAILED', 'setTokens could not write: the store kept changing under it');
    }
    this.#adoptOwn(stored, true);
    adopted();
    this.#supersede();
    return this.#settle(tokens, this.#current);
  }

  /**
   * A store call bounded by `refreshTimeoutMs`; whatever the store throws or a silent store becomes `STORE_FAILED`,
   * naming the store as the culprit. A synchronous store (the memory one) costs no timer.
   */
  #storeOp<T>(value: T | Promise<T>, what: 'read' | 'write'): Promise<T> {
    if (!(value instanceof Promise)) return Promise.resolve(value);
    return within(value, this.#timeoutMs, () => {
      return new TokenRefreshError(
        'STORE_FAILED',
        `The token store did not answer a ${what} within ${this.#timeoutMs} ms`,
      );
    }).catch((error: unknown) => {
      throw this.#storeError(error, what);
    });
  }

  #read(): Promise<StoredTokens> {
    return this.#storeOp(this.#store.read(), 'read');
  }

  #write(tokens: TokenSet | null, version: number, ended?: EndReason): Promise<StoredTokens | null> {
    return this.#storeOp(this.#store.write(tokens, version, ended), 'write');
  }

  /** Someone else wrote the store first: adopts what they wrote (newer than ours by definition). */
  async #catchUp(): Promise<void> {
    this.#adoptFromElsewhere(await this.#read());
  }

  /** What a store threw, as `STORE_FAILED` naming the store (a TokenRefreshError of the store's own passes through). */
  #storeError(error: unknown, what: 'read' | 'write'): TokenRefreshError {
    if (isTokenRefreshError(error)) return error;
    return new TokenRefreshError(
      'STORE_FAILED',
      `The token store failed a ${what}: it threw ${describeThrown(error)}`,
      {
        cause: this.#scrub(error),
      },
    );
  }

  /**
   * Reads the store; when the record there is malformed (the store works, but someone wrote junk), goes on from the
   * tokens this session holds, so that the next login or refresh replaces the record. The malformed record is
   * reported through `refreshError`, never adopted.
   */
  async #readOrOwn(): Promise<StoredTokens> {
    try {
      return await this.#read();
    } catch (error) {
      if (!isMalformedRecord(error)) throw error;
      this.#emit('refreshError', error as TokenRefreshError);
      return { tokens: this.#tokens, version: this.#version };
    }
  }

  /** Removes the tokens this session knows (now, the ones before, and `also`) from an error the app's code threw. */
  #scrub<T>(error: T, also?: TokenSet | null): T {
    const known = [this.#tokens, this.#replaced, also].flatMap((tokens) => [
      tokens?.refreshToken,
      tokens?.accessToken,
      tokens?.idToken,
    ]);
    return scrubSecrets(error, known);
  }

  /**
   * Waits for a flight. Its failure is not the caller's when tokens newer than the ones it refreshed arrived meanwhile
   * (a login with setTokens): the caller goes on with those.
   */
  #join(flight: Flight, cancel?: WaitSignal): Promise<void> {
    const outcome = flight.promise.catch((error: unknown) => {
      if (isTokenRefreshError(error) && this.#version > flight.failsUpTo && this.#tokens !== null) return;
      throw error;
    });
    if (this.#debug) this.report({ type: 'request:wait' });
    return untilCanceled(Promise.race([outcome, flight.released]), cancel);
  }

  #reasonToRefresh(): RefreshReason | undefined {
    const tokens = this.#tokens;
    if (tokens === null) return this.#canMint ? 'missing' : undefined;
    if (tokens.accessToken === undefined || tokens.accessToken === '') return 'missing';
    if (this.#staleVersion === this.#version) return 'stale';
    if (Date.now() >= this.#refreshAt) return 'expired';
    return undefined;
  }

  async #refreshBeforeSend(reason: RefreshReason, cancel?: WaitSignal): Promise<RequestTokens> {
    const before = this.#tokens;
    try {
      await this.refreshFor(this.#version, reason, cancel);
    } catch (error) {
      // A token that is only inside the leeway still works: a transient failure should not fail the request.
      const code = (error as TokenRefreshError).code;
      const expiresAt = before?.expiresAt;
      // Unless a 401 refused it meanwhile: then it is not valid, whatever its expiresAt says.
      const stillValid =
        reason === 'expired' &&
        this.#tokens === before &&
        this.#staleVersion !== this.#version &&
        expiresAt !== undefined &&
        Date.now() < expiresAt;
      if (!stillValid || (code !== 'REFRESH_FAILED' && code !== 'REFRESH_TIMEOUT' && code !== 'STORE_FAILED'))
        throw error;
      this.#refreshAt = expiresAt;
    }
    return this.#current;
  }

  async #fly(version: number, reason: RefreshReason, flight: Flight): Promise<void> {
    const started = Date.now();
    const end = (outcome: 'ok' | 'adopted' | TokenRefreshError['code']): void => {
      if (this.#debug) this.report({ type: 'refresh:end', outcome, version, durationMs: Date.now() - started });
    };
    if (this.#debug) this.report({ type: 'refresh:start', reason, version });
    let outcome: 'ok' | 'adopted' = 'ok';
    try {
      await this.#store.withLock(async (lock) => {
        outcome = await this.#underLock(version, reason, flight, lock.signal);
      }, this.#lockOptions());
    } catch (thrown) {
      const error = this.#scrub(classifyRefreshFailure(thrown));
      end(error.code);
      if (flight.superseded) throw error;
      this.#failures += 1;
      this.#lastFailure = error;
      if (error.code === 'SESSION_EXPIRED') await this.#announceEnd(error, version);
      else this.#emit('refreshError', error);
      throw error;
    }
    end(outcome);
  }

  /**
   * The flight's work, under the lock: the store's record first. Someone sharing the store may have refreshed (or
   * logged in or out, or been refused) meanwhile: then their record is adopted ('adopted'). Otherwise the refresh
   * runs from the record, and a refusal for good is written to the store before the lock is released.
   */
  async #underLock(
    version: number,
    reason: RefreshReason,
    flight: Flight,
    lockSignal: AbortSignal,
  ): Promise<'ok' | 'adopted'> {
    const stored = await this.#recordToRefresh(await this.#readOrOwn(), version, flight);
    if (stored === 'ok' || stored === 'adopted') return stored;
    try {
      await this.#refreshUnderLock(stored, reason, lockSignal, flight);
      return 'ok';
    } catch (thrown) {
      const error = this.#scrub(classifyRefreshFailure(thrown), stored.tokens);
      // Written before the lock is released, so that nobody who takes it next acts on the spent tokens.
      if (error.code === 'SESSION_EXPIRED' && !flight.superseded) await this.#writeEnd(error, stored.version);
      throw error;
    }
  }

  /**
   * What the store's record means for a flight started at `version`: the record to refresh from, or how the flight
   * ends without a refresh ('adopted': someone else's record won; 'ok': a login superseded the flight).
   */
  async #recordToRefresh(
    stored: StoredTokens,
    version: number,
    flight: Flight,
  ): Promise<StoredTokens | 'ok' | 'adopted'> {
    if (flight.superseded) return 'ok';
    if (version === this.#version && this.#otherLogin(stored) && this.#adoptReset(stored)) {
      return this.#adoptedEnd(stored); // another login at our version, written after the store was reset (see below)
    }
    if (stored.version < version && version === this.#version && this.#tokens !== null) {
      // A record we never saw, below our version: written after the store was reset (a login after the token file
      // was deleted, after a Redis restart). The store's record wins, as a login always does.
      if (this.#adoptReset(stored)) return this.#adoptedEnd(stored);
      // The store lost what it held (Redis restarted empty, the file deleted), or got an older backup back (spent
      // tokens): it gets our tokens back, and the refresh goes on from there.
      return this.#restore(stored);
    }
    if (stored.version !== version) {
      this.#adoptFromElsewhere(stored);
      // Newer tokens: the flight is done. Not the tokens it was started for, recorded again (a write of ours that
      // landed late, a write-back): it refreshes from them.
      if (this.#tokens === null || stored.version !== this.#version || !this.#inUse(version)) {
        const outcome = this.#adoptedEnd(stored);
        if (stored.tokens === null && this.#canMint) throw new TokenRefreshError('REFRESH_FAILED', 'No tokens yet');
        return outcome;
      }
    }
    return stored;
  }

  /** An adopted record that ended the session fails the flight with the end's error. */
  #adoptedEnd(stored: StoredTokens): 'adopted' {
    if (stored.tokens === null && this.#endError) throw this.#endError;
    return 'adopted';
  }

  async #refreshUnderLock(
    stored: StoredTokens,
    reason: RefreshReason,
    lockSignal: AbortSignal,
    flight: Flight,
  ): Promise<void> {
    // At the same version ours are the same tokens, or newer ones a failed store write could not record.
    const current = stored.version === this.#version ? this.#tokens : stored.tokens;
    if (current === null && !this.#canMint) {
      throw new TokenRefreshError('SESSION_EXPIRED', 'Token refresh refused: there are no tokens (not logged in)');
    }
    if (this.#refreshTokenRequired && !this.#canMint && !current?.refreshToken) {
      throw new TokenRefreshError('SESSION_EXPIRED', 'Token refresh refused: there is no refresh token');
    }
    const from = current ?? ({} as TokenSet);
    let answer: unknown;
    let next: TokenSet;
    try {
      answer = await this.#callRefresh(from, reason, stored.version, lockSignal, flight);
      next = normalizeRefreshResult(answer, current);
    } catch (error) {
      const rotated = rotatedIn.get(error as object) ?? refreshTokenIn(answer);
      const held = { flight, lock: lockSignal, failure: error, spent: current?.refreshToken };
      if (current !== null && !flight.superseded) await this.#keepRotated(current, rotated, stored.version, held);
      throw error;
    }
    if (flight.superseded) return;
    await this.#commit(next, stored.version, { flight, lock: lockSignal, spent: current?.refreshToken });
  }

  /**
   * A refused answer may carry a rotated refresh token: the one presented is spent, so the new one is kept (and
   * saved), and the flight still fails with the answer's error. The access token stays as it was: refused (stale) if
   * it was.
   */
  async #keepRotated(current: TokenSet, rotated: unknown, version: number, held: Held): Promise<void> {
    if (typeof rotated !== 'string' || rotated === '' || rotated === current.refreshToken) return;
    const { flight } = held;
    const refused = this.#staleVersion === this.#version;
    if (!(await this.#commit({ ...current, refreshToken: rotated }, version, held))) return;
    // A version of the flight's own making, not a login: its failure is still every waiter's.
    flight.failsUpTo = this.#version;
    if (refused) this.#staleVersion = this.#version;
  }

  /**
   * The one way new tokens from a refresh come into use: compare-and-set write, adopt, `onTokens`, then the `tokens`
   * event (a `refreshError` when `onTokens` failed). When someone else wrote first, their (newer) tokens are adopted.
   */
  async #commit(next: TokenSet, version: number, held?: Held): Promise<boolean> {
    const before = this.#current;
    let written: StoredTokens | null;
    try {
      written = await this.#write(next, version);
    } catch (error) {
      // A login or logout adopted meanwhile wins: these tokens are of the login it replaced.
      if (this.#current !== before || held?.flight.superseded) return false;
      // The old refresh token is spent: the new tokens are the only good ones, so they are used all the same (at the
      // version the store still has), written again while the lock is held, and by the next refresh if need be.
      this.#adoptOwn({ tokens: next, version }, false);
      const adopted = this.#current;
      this.#reportError(await this.#settle(next, adopted, this.#storeError(error, 'write')));
      if (held) await this.#writeBack(adopted, held);
      return true;
    }
    if (written === null) {
      // setTokens (or another writer) got there first; its tokens are newer than ours by definition. Unless the
      // record is one the new tokens replace: the new tokens go over it (the old refresh token is spent now).
      let stored = await this.#read();
      // Spent only when the server rotated it (a non-rotating refresh token, Keycloak's offline one, is not).
      const spent = held?.spent !== next.refreshToken ? held?.spent : undefined;
      if (this.#replacedBy(stored, version, spent)) {
        written = await this.#write(next, stored.version);
        if (written === null) stored = await this.#read();
      }
      if (written === null) {
        this.#adoptFromElsewhere(stored);
        return false;
      }
    }
    this.#adoptOwn(written, false);
    this.#reportError(await this.#settle(next, this.#current));
    return true;
  }

  /**
   * The store failed to record refreshed tokens: it still holds the spent refresh token, which whoever takes the lock
   * next would present (a server that detects reuse then ends the login). The waiting requests go on with the new
   * tokens; the lock is kept while the write is tried again, backing off, for up to `refreshTimeoutMs`, until newer
   * tokens or a logout make it moot, or the lock is lost.
   */
  async #writeBack(adopted: RequestTokens, { flight, lock, failure }: Held): Promise<void> {
    if (!lock) return;
    flight.release(failure === undefined ? undefined : this.#scrub(classifyRefreshFailure(failure)));
    // Done as far as requests go: a refresh needed meanwhile starts its own flight, which ends this one (below), takes
    // the lock and writes its tokens; until then the store's version is ours, so it starts from the tokens in use.
    if (this.#flight === flight) this.#flight = undefined;
    // Not AbortSignal.any: it is missing from jsdom and from browsers before 2023.
    const signals = [lock, flight.controller.signal, this.#closing.signal];
    const until = Date.now() + this.#timeoutMs;
    for (let waitMs = 100; Date.now() + waitMs < until; waitMs = Math.min(2 * waitMs, 2_000)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          for (const signal of signals) signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        for (const signal of signals) signal.addEventListener('abort', done);
      });
      const stopped = signals.some((signal) => signal.aborted);
      if (stopped || this.#current !== adopted || this.#loggingOut || this.#flight) return;
      const written = await this.#write(adopted.tokens, adopted.version).catch(() => undefined);
      if (written === null) return this.#catchUp().catch(() => undefined);
      // The tokens in use, recorded: the same ones (see `#tokensSince`), at the version the store gave them.
      if (written !== undefined) return this.#adoptOwn({ ...written, tokens: adopted.tokens }, false);
    }
  }

  /** Calls `refresh` bounded by the timeout; a late answer is adopted only if nothing newer happened since. */
  async #callRefresh(
    current: TokenSet,
    reason: RefreshReason,
    version: number,
    lockSignal: AbortSignal,
    flight: Flight,
  ): Promise<TokenSet> {
    const controller = flight.controller;
    const abort = (): void => controller.abort(lockSignal.reason);
    lockSignal.addEventListener('abort', abort, { once: true });
    let timedOut = false;
    const answer = new Promise<TokenSet>((resolve) =>
      resolve(this.#refresh(current, { signal: controller.signal, reason })),
    );
    const late = (value: unknown, failure?: unknown): void => {
      if (timedOut && !flight.superseded) void this.#lateAnswer(value, failure, current, version, flight);
    };
    answer.then(late, (failure: unknown) => late(undefined, failure));
    // A login or logout aborts the flight: stop waiting for its answer (and free the lock) at once.
    const abandoned = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => {
        if (!flight.superseded) return;
        reject(
          new TokenRefreshError('REFRESH_FAILED', 'Token refresh abandoned: setTokens or logout replaced the tokens'),
        );
      });
    });
    try {
      return await within(Promise.race([answer, abandoned]), this.#timeoutMs, () => {
        timedOut = true;
        controller.abort(new Error('refresh timed out'));
        return new TokenRefreshError(
          'REFRESH_TIMEOUT',
          `Token refresh timed out: it did not settle within refreshTimeoutMs (${this.#timeoutMs} ms)`,
        );
      });
    } finally {
      lockSignal.removeEventListener('abort', abort);
    }
  }

  async #lateAnswer(
    value: unknown,
    failure: unknown,
    previous: TokenSet,
    version: number,
    timedOut: Flight,
  ): Promise<void> {
    // A late failure matters only when it carries a rotated refresh token (a refused answer).
    const rotated = failure === undefined ? undefined : rotatedIn.get(failure as object);
    if (failure !== undefined && rotated === undefined) return;
    // The refresh token may be spent by now, so a late answer is worth keeping, but never over newer tokens or an
    // ended session. An answer right on the deadline first lets the flight it missed finish failing.
    if (this.#flight === timedOut) await timedOut.promise.catch(() => undefined);
    let adopted = false;
    if (this.#version === version && this.#flight === undefined && !this.#ended && !timedOut.superseded) {
      const flight = this.#startFlight(version, async (own) => {
        try {
          if (failure !== undefined) throw failure;
          adopted = await this.#commit(normalizeRefreshResult(value, previous), version);
        } catch {
          // An unusable late answer changes nothing, but for a rotated refresh token it carries.
          const carried = rotated ?? (value as Partial<TokenSet> | undefined)?.refreshToken;
          await this.#keepRotated(previous, carried, version, { flight: own }).catch(() => undefined);
        }
      });
      // Held as a flight, so that requests wait for onTokens as they do after any refresh.
      await flight.promise;
    }
    this.report({ type: 'refresh:late', adopted });
  }

  /**
   * The server refused the refresh token for good: clear the tokens in the store, marked as ended by the server so
   * that every tab and process sharing it ends too. Runs under the refresh lock.
   */
  async #writeEnd(error: TokenRefreshError, version: number): Promise<void> {
    // Newer tokens (a login) are not ended by an older refusal.
    if (this.#version !== version || this.#tokens === null) return;
    const written = await this.#write(null, version, 'expired');
    if (written === null) return this.#catchUp();
    // Requests whose 401 arrives after the end get the server's own answer (status, oauthError), not a generic one.
    this.#adoptOwn(written, false, error);
    this.#pendingEnd = this.#current;
  }

  /** After the lock: `onTokens(null)`, the `tokens` event, `refreshError` and `sessionExpired`, once per end. */
  async #announceEnd(error: TokenRefreshError, version: number): Promise<void> {
    const endedAt = this.#pendingEnd;
    this.#pendingEnd = undefined;
    if (endedAt === undefined || this.#current !== endedAt) {
      // Nothing of ours ended (newer tokens arrived, or someone else ended it and announced it here already).
      if (this.#version === version) this.#emit('refreshError', error);
      return;
    }
    this.#reportError(await this.#settle(null, endedAt, error));
    // A login that happened while onTokens(null) ran must not be followed by "session expired".
    if (this.#current === endedAt) this.#emit('sessionExpired', error);
  }

  /**
   * The last step of every change of tokens this session made: `onTokens`, then the `tokens` event unless other tokens
   * were adopted while `onTokens` ran (their own event comes, or came, instead: the last event always names the tokens
   * in use), then `refreshError` for each of `errors`. Returns `onTokens`' failure, for the caller to report or throw.
   *
   * @param adopted - `#current` right after the change was adopted. Every adoption makes a new one, also a change
   *   that keeps the version (a logout the store could not record), so identity says whether ours is still in use.
   */
  async #settle(
    tokens: TokenSet | null,
    adopted: RequestTokens,
    ...errors: TokenRefreshError[]
  ): Promise<TokenRefreshError | undefined> {
    const failure = await this.#persist(tokens);
    if (this.#current === adopted) this.#emit('tokens', tokens);
    for (const error of errors) this.#emit('refreshError', error);
    return failure;
  }

  #reportError(error: TokenRefreshError | undefined): void {
    if (error) this.#emit('refreshError', error);
  }

  /** Calls `onTokens` bounded by the timeout; returns the failure instead of throwing, since the tokens are in use. */
  async #persist(tokens: TokenSet | null): Promise<TokenRefreshError | undefined> {
    const onTokens = this.#onTokens;
    if (!onTokens) return undefined;
    try {
      await within(
        onTokens(tokens),
        this.#timeoutMs,
        () => new Error(`onTokens did not settle within ${this.#timeoutMs} ms`),
      );
      return undefined;
    } catch (cause) {
      return new TokenRefreshError(
        'PERSIST_FAILED',
        'onTokens failed; the new tokens are in use but were not persisted',
        {
          cause: this.#scrub(cause, tokens),
        },
      );
    }
  }

  /** Adopts tokens this session wrote (or chose): the session is ended exactly when `endError` says why. */
  #adoptOwn(stored: StoredTokens, fromApp: boolean, endError?: TokenRefreshError): void {
    this.#adopt(stored, fromApp);
    this.#ended = endError !== undefined;
    this.#endError = endError;
  }

  /**
   * @param recorded - `stored` is a store's record: the same tokens as ours there are ours recorded again (our write
   *   that landed late, our tokens restored), not tokens a refresh issued again.
   */
  #adopt(stored: StoredTokens, fromApp: boolean, recorded = false): void {
    const { tokens } = stored;
    // The tokens in use, recorded again (a write-back, our write read back after it landed late): still refused if a
    // 401 said so, and still the tokens requests sent since `#tokensSince` carried. A refresh that answered with the
    // same tokens issued them again: a 401 for them before it was for the old ones, as after any refresh.
    const again = tokens !== null && (tokens === this.#tokens || (recorded && sameTokens(tokens, this.#tokens)));
    if (again) {
      if (this.#staleVersion === this.#version) this.#staleVersion = stored.version;
      this.#tokensSince = Math.min(this.#tokensSince, stored.version);
    } else {
      // Tokens refused by a 401 are not these (versions repeat after a store was reset, tokens do not).
      this.#staleVersion = -1;
      this.#tokensSince = stored.version;
      this.#replaced = this.#tokens ?? this.#replaced;
      const spent = this.#tokens?.refreshToken;
      if (tokens !== null && spent !== undefined && spent !== tokens.refreshToken) remember(this.#spent, spent);
      const access = this.#tokens?.accessToken;
      if (access !== undefined) remember(this.#replacedAccess, access);
    }
    this.#tokens = tokens;
    this.#version = stored.version;
    if (tokens !== null) this.#endError = undefined;
    const access = tokens?.accessToken;
    this.#current = {
      tokens,
      version: stored.version,
      authorization: access ? `${tokens?.tokenType ?? 'Bearer'} ${access}` : undefined,
    };
    this.#refreshAt = refreshPoint(tokens, fromApp, this.#leewayMs);
  }

  /** Adopts a record another tab or process wrote; a session ended or logged out there ends here too. */
  #adoptFromElsewhere(stored: StoredTokens): void {
    if (stored.version <= this.#version) return;
    const hadTokens = this.#tokens !== null;
    this.#adopt(stored, true, true);
    this.#ended = stored.tokens === null && (hadTokens || this.#ended);
    if (stored.tokens === null && stored.ended === 'expired') {
      this.#endError = new TokenRefreshError(
        'SESSION_EXPIRED',
        'Request refused: the session was ended in another tab or process sharing the store; log in again',
      );
    } else if (stored.tokens === null && stored.ended === 'logout') {
      this.#endError = new TokenRefreshError(
        'LOGGED_OUT',
        'Request not sent: the app logged out (in another tab or process)',
      );
    }
    this.#emit('tokens', stored.tokens);
    if (hadTokens && stored.tokens === null && stored.ended === 'expired' && this.#endError) {
      this.#emit('sessionExpired', this.#endError);
    }
  }

  /** Writes our tokens back into a store that lost them; returns the record now there (ours, or a racing writer's). */
  async #restore(stored: StoredTokens): Promise<StoredTokens> {
    const restored = await this.#write(this.#tokens, stored.version);
    if (restored === null) return this.#read();
    this.#adopt(restored, false, true);
    return restored;
  }

  #onStoreWrite(stored: StoredTokens): void {
    if (stored.version < this.#version || this.#otherLogin(stored)) {
      // Lower than ours, or another login at ours: a delayed message, or a store that lost its data and was written
      // again (a login after a Redis restart, or after the token file was deleted). Only the store itself can tell.
      // An older backup put back is not adopted: our tokens go back over it (a failure waits for the next refresh).
      void this.#read()
        .then((current) => {
          const reset = current.version < this.#version || this.#otherLogin(current);
          if (!reset || current.version !== stored.version || this.#adoptReset(current)) return;
          if (this.#isBackup(current)) return this.#putBack();
        })
        .catch(() => undefined);
      return;
    }
    if (stored.version === this.#version) return;
    this.#adoptFromElsewhere(stored);
    if (stored.tokens === null && this.#endError) {
      // A logout elsewhere ends the refresh waiting here, as a logout here would: no `refreshError` when it gets the
      // lock, and requests sent from now on go out without a token instead of joining it.
      if (stored.ended === 'logout' && !this.#loader) this.#supersede(this.#endError);
      // Requests waiting for a refresh here learn the outcome at once, instead of when the lock frees.
      else this.#flight?.release(this.#endError);
    }
  }

  /**
   * Adopts a record at a lower version than ours (or another login at ours), which the store confirmed: it was reset
   * and written again. Not one that carries a refresh token we saw replaced: that is an older backup put back, and the
   * token is spent (presenting it again gets the login revoked where the server detects reuse). Not an emptied store
   * either. Returns whether it adopted the record.
   */
  #adoptReset(stored: StoredTokens): boolean {
    // An emptied store is no login (and no logout): it gets our tokens back at the next refresh.
    if (this.#isBackup(stored) || isEmptied(stored)) return false;
    // Below any version, so that the record is adopted; a 401's mark on our tokens goes along (they may come back).
    if (this.#staleVersion === this.#version) this.#staleVersion = Number.NEGATIVE_INFINITY;
    this.#version = Number.NEGATIVE_INFINITY;
    this.#adoptFromElsewhere(stored);
    return true;
  }

  /**
   * Whether a record that beat our refresh's write is one the refresh's tokens replace: an older backup put back, a
   * store emptied (Redis lost its data, and its lock with it: version 0, nothing written since), or any record that
   * carries the refresh token the refresh just spent (another process put it back after such a loss, at a version
   * above ours). A login, a logout or another process's refresh carries none of these.
   *
   * @param spent - the refresh token the refresh presented, when the server rotated it.
   */
  #replacedBy(stored: StoredTokens, version: number, spent: string | undefined): boolean {
    if (spent !== undefined && stored.tokens?.refreshToken === spent) return true;
    if (stored.version >= version) return false;
    return this.#isBackup(stored) || isEmptied(stored);
  }

  /**
   * Whether a record below our version is an older backup put back rather than a login after a reset: it carries a
   * refresh token we saw replaced. (Expiry times cannot tell: a new login may be shorter-lived, or made on a machine
   * whose clock is behind.)
   */
  #isBackup(stored: StoredTokens): boolean {
    const refreshToken = stored.tokens?.refreshToken;
    return refreshToken !== undefined && this.#spent.includes(refreshToken);
  }

  /**
   * Whether a record at our version holds another login than ours (or a logout): written after the store was emptied
   * (the token file deleted, Redis lost its data) by a process that never saw our versions, so it started again at 1.
   * Not our tokens (the same refresh token), nor tokens ours replaced, which a failed store write leaves there at our
   * version: those carry a refresh token we saw replaced, or an access token we replaced.
   */
  #otherLogin(stored: StoredTokens): boolean {
    const ours = this.#tokens;
    const theirs = stored.tokens;
    if (stored.version !== this.#version || ours === null) return false;
    // A logout (or an end) written there: no failed write of ours leaves one at our version while we hold tokens,
    // except a grant's tokens minted from nothing (client credentials), which a logout does not end anyway.
    if (theirs === null) return stored.ended !== undefined && !this.#canMint;
    if (theirs.refreshToken !== undefined) {
      return theirs.refreshToken !== ours.refreshToken && !this.#isBackup(stored);
    }
    const access = theirs.accessToken;
    return access !== ours.accessToken && (access === undefined || !this.#replacedAccess.includes(access));
  }

  /**
   * Writes our tokens back over an older backup a store announced (under the lock, as a refresh would: a refresh in
   * another process may be writing), so that no process reads its spent refresh token before our next refresh.
   */
  async #putBack(): Promise<void> {
    await this.#store.withLock(async () => {
      const stored = await this.#read();
      if (stored.version < this.#version && this.#tokens !== null && this.#isBackup(stored))
        await this.#restore(stored);
    }, this.#lockOptions());
  }

  /** The lock's terms for a refresh (and a put-back): see `#fly`. */
  #lockOptions(): { leaseMs: number; waitMs: number } {
    // The lease covers the refresh and onTokens, each bounded by the timeout. A waiter must outlast a dead holder's
    // whole lease, or a crash would fail every other process instead of handing the lock over.
    return { leaseMs: this.#timeoutMs * 2 + 5_000, waitMs: this.#timeoutMs * 3 + 5_000 };
  }

  #ready(): Promise<void> {
    if (!this.#loader) return Promise.resolve();
    this.#loading ??= this.#loader().finally(() => {
      this.#loading = undefined;
    });
    // A login (setTokens) while the loader hangs or fails wins over it.
    return Promise.race([this.#loading, this.#loaderWake.promise]);
  }

  async #load(load: () => TokenSet | null | Promise<TokenSet | null>): Promise<void> {
    let initial: TokenSet | null;
    try {
      initial = await within(load(), this.#timeoutMs, () => {
        return new TypeError(`the tokens loader did not settle within ${this.#timeoutMs} ms`);
      });
    } catch (cause) {
      // Our own validation messages are safe to repeat; the loader's own message might quote a token, so it is not.
      const why =
        cause instanceof TypeError ? cause.message : `the loader threw ${describeThrown(cause)} (see \`cause\`)`;
      throw new TokenRefreshError('TOKENS_LOAD_FAILED', `Loading the initial tokens failed: ${why}`, {
        cause: this.#scrub(cause),
      });
    }
    // A failing store says so itself (STORE_FAILED, with the store's error as cause); a malformed record is reported
    // and left for the first write to replace.
    let stored = await this.#readOrOwn();
    if (stored.version === 0 && stored.tokens === null && initial !== null) {
      stored = (await this.#write(initial, 0)) ?? (await this.#read());
    }
    if (this.#loader === undefined) return; // a login replaced the loader meanwhile
    // A record another tab or process wrote may have come in (and been announced) while we loaded: only a newer one
    // replaces it, and is announced too, so that the last `tokens` event names the tokens in use.
    const announced = this.#version;
    if (stored.version >= announced) this.#adopt(stored, true);
    this.#ended = stored.tokens === null && stored.ended !== undefined;
    this.#loader = undefined;
    if (announced > 0 && stored.version > announced) this.#emit('tokens', stored.tokens);
  }

  #emit<E extends SessionEventName>(event: E, payload: SessionEvents[E]): void {
    for (const listener of this.#listeners[event] as Set<(payload: SessionEvents[E]) => unknown>) {
      callApp(listener, payload, (error) => this.#listenerFailed(event, error, payload));
    }
  }

  /**
   * A listener's bug must not break the refresh, the other listeners, or the process (see src/report.ts). What it
   * threw is scrubbed of the tokens this session knows and, for a `tokens` listener, of the tokens it was given.
   */
  #listenerFailed(event: SessionEventName, error: unknown, payload: unknown): void {
    const scrubbed = this.#scrub(error, event === 'tokens' ? (payload as TokenSet | null) : undefined);
    if (this.#debug) this.report({ type: 'listener:error', event, error: scrubbed });
    else warnCallbackError(`a \`${event}\` listener`, scrubbed);
  }
}
/**
 * Creates a token session to share between several axios instances: one refresh serves all of them.
 * `attachRefresh(api, { session })` attaches it to an instance.
 *
 * @param options - see {@link SessionOptions}. Invalid options throw a `TypeError` naming the option.
 * @example
 * ```ts
 * const session = createTokenSession({ tokens, refresh, onTokens: save });
 * attachRefresh(api, { session });
 * attachRefresh(uploads, { session });
 * ```
 */
export function createTokenSession(options: SessionOptions): TokenSession {
  return new Session(options) as unknown as TokenSession;
}
