import { CanceledError } from 'axios';
import { TokenRefreshError, classifyRefreshFailure, describeThrown, isTokenRefreshError } from './errors.js';
import type {
  DebugEvent,
  DpopHooks,
  RefreshReason,
  SessionEventName,
  SessionEvents,
  SessionOptions,
  TokenSession,
  TokenSnapshot,
} from './options.js';
import { MemoryTokenStore, type StoredTokens, type TokenStore } from './store.js';
import { checkTokenInput, normalizeRefreshResult, type TokenSet } from './tokens.js';
import { checkObject, checkOptions, expected, isBoolean, isFunction, isNumberFrom, type Rule } from './validate.js';

const defaults = {
  refreshTimeoutMs: 30_000,
  leewayMs: 10_000,
  refreshTokenRequired: true,
};

/** Something a waiting request can be cancelled by: axios's `signal` (and the legacy `cancelToken`). */
export interface WaitSignal {
  readonly signal?: { readonly aborted: boolean; addEventListener?: unknown; removeEventListener?: unknown } | undefined;
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
}

type Listeners = { [E in SessionEventName]: Set<(payload: SessionEvents[E]) => void> };

/** The session options' checks, in the order the README's bad-input table lists them. */
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
export class Session implements TokenSession {
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
  #ended = false;
  #endError: TokenRefreshError | undefined;
  /** What requests are sent with, rebuilt only when the tokens change (the request path allocates nothing). */
  #current: RequestTokens = { tokens: null, version: 0, authorization: undefined };
  #flight: Flight | undefined;
  #waiting = 0;
  #loading: Promise<void> | undefined;
  #loader: (() => Promise<void>) | undefined;
  #unsubscribe: (() => void) | undefined;

  /** The session's DPoP key: `attachRefresh` installs its interceptors on every instance of the session. */
  readonly dpop: DpopHooks | undefined;

  /** @param options - see {@link SessionOptions}; validated here. */
  constructor(options: SessionOptions) {
    checkObject(options);
    checkOptions(options, sessionRules);
    this.#refresh = options.refresh;
    this.#onTokens = options.onTokens;
    this.#debug = options.debug;
    this.#timeoutMs = options.refreshTimeoutMs ?? defaults.refreshTimeoutMs;
    this.#leewayMs = options.leewayMs ?? defaults.leewayMs;
    this.#refreshTokenRequired = options.refreshTokenRequired ?? defaults.refreshTokenRequired;
    this.dpop = options.dpop;

    const source = options.tokens;
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
    await this.#ready();
    let stored: StoredTokens | null = null;
    // The version check only guards against writers racing us; an explicit login/logout wins over all of them.
    for (let attempt = 0; stored === null && attempt < 10; attempt += 1) {
      const current = attempt === 0 ? this.#version : (await this.#store.read()).version;
      stored = await this.#store.write(checked, current);
    }
    if (stored === null) {
      throw new TokenRefreshError('PERSIST_FAILED', 'setTokens could not write: the store kept changing under it');
    }
    this.#adopt(stored, true);
    this.#ended = checked === null;
    const failure = await this.#persist(checked);
    this.#emitTokens(checked, stored.version);
    if (failure) throw failure;
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
    if (!listeners) throw new TypeError(expected('event', 'one of tokens, refreshError, sessionExpired', event));
    if (typeof listener !== 'function') throw new TypeError(expected('listener', 'a function', listener));
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** {@inheritDoc TokenSession.close} */
  async close(): Promise<void> {
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

  /** Reports to the debug hook, if any. */
  report(event: DebugEvent): void {
    if (this.#debug) this.#debug(event);
  }

  /**
   * Whether {@link Session.prepare} answers at once: tokens loaded, no refresh in flight, none needed first. What a
   * request interceptor asks to know whether axios may run it synchronously.
   */
  get settled(): boolean {
    return this.#loader === undefined && this.#flight === undefined && this.#reasonToRefresh() === undefined;
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
   */
  refreshFor(version: number, reason: RefreshReason, cancel?: WaitSignal): Promise<void> {
    // Also when joining a flight: if that flight fails, the next request must not go out with the refused token.
    if (reason === 'unauthorized') this.markRefused(version);
    // A flight still persisting must finish before anyone uses its tokens, so join it before comparing versions.
    if (this.#flight) return this.#join(this.#flight, cancel);
    if (version !== this.#version) {
      return this.ended
        ? Promise.reject(
            this.#endError ?? new TokenRefreshError('SESSION_EXPIRED', 'Token refresh refused earlier: the session has ended'),
          )
        : Promise.resolve();
    }
    const promise = this.#fly(version, reason);
    const flight: Flight = { version, promise };
    this.#flight = flight;
    const clear = (): void => {
      if (this.#flight === flight) this.#flight = undefined;
    };
    promise.then(clear, clear);
    return this.#join(flight, cancel);
  }

  /**
   * Remembers that the server refused the tokens of `version` (a 401 the caller will not refresh for, e.g. its
   * replays are used up), so that the next request refreshes before it is sent instead of sending them again.
   *
   * @param version - the version the refused request was sent with; an older one changes nothing.
   */
  markRefused(version: number): void {
    if (version === this.#version && this.#tokens !== null) this.#staleVersion = version;
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  /**
   * Waits for a flight. Its failure is not the caller's when tokens newer than the ones it refreshed arrived meanwhile
   * (a login with setTokens): the caller goes on with those.
   */
  #join(flight: Flight, cancel?: WaitSignal): Promise<void> {
    const outcome = flight.promise.catch((error: unknown) => {
      if (isTokenRefreshError(error) && this.#version > flight.version && this.#tokens !== null) return;
      throw error;
    });
    return this.#wait(outcome, cancel);
  }

  #reasonToRefresh(): RefreshReason | undefined {
    const tokens = this.#tokens;
    if (tokens === null) return undefined;
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
      if (!stillValid || (code !== 'REFRESH_FAILED' && code !== 'REFRESH_TIMEOUT')) throw error;
      this.#refreshAt = expiresAt;
    }
    return this.#current;
  }

  async #fly(version: number, reason: RefreshReason): Promise<void> {
    const started = Date.now();
    this.report({ type: 'refresh:start', reason, version });
    let outcome: 'ok' | 'adopted' = 'ok';
    try {
      await this.#store.withLock(
        async (lock) => {
          const stored = await this.#store.read();
          if (stored.version !== version) {
            // Someone sharing the store refreshed (or logged in/out) while we waited for the lock.
            outcome = 'adopted';
            this.#adoptFromElsewhere(stored);
            return;
          }
          await this.#refreshUnderLock(stored, reason, lock.signal);
        },
        // The lease covers the refresh and onTokens, each bounded by the timeout. A waiter must outlast a dead
        // holder's whole lease, or a crash would fail every other process instead of handing the lock over.
        { leaseMs: this.#timeoutMs * 2 + 5_000, waitMs: this.#timeoutMs * 3 + 5_000 },
      );
    } catch (thrown) {
      const error = classifyRefreshFailure(thrown);
      this.report({ type: 'refresh:end', outcome: error.code, version, durationMs: Date.now() - started });
      if (error.code === 'SESSION_EXPIRED') await this.#end(error, version);
      else this.#emit('refreshError', error);
      throw error;
    }
    this.report({ type: 'refresh:end', outcome, version, durationMs: Date.now() - started });
  }

  async #refreshUnderLock(stored: StoredTokens, reason: RefreshReason, lockSignal: AbortSignal): Promise<void> {
    const current = stored.tokens;
    if (current === null) {
      throw new TokenRefreshError('SESSION_EXPIRED', 'Token refresh refused: there are no tokens (not logged in)');
    }
    if (this.#refreshTokenRequired && !current.refreshToken) {
      throw new TokenRefreshError('SESSION_EXPIRED', 'Token refresh refused: there is no refresh token');
    }
    const next = normalizeRefreshResult(await this.#callRefresh(current, reason, stored.version, lockSignal), current);
    const written = await this.#store.write(next, stored.version);
    if (written === null) {
      // setTokens (or another writer) got there first; its tokens are newer than ours by definition.
      this.#adoptFromElsewhere(await this.#store.read());
      return;
    }
    this.#adopt(written, false);
    this.#ended = false;
    const failure = await this.#persist(next);
    this.#emitTokens(next, written.version);
    if (failure) this.#emit('refreshError', failure);
  }

  /** Calls `refresh` bounded by the timeout; a late answer is adopted only if nothing newer happened since. */
  #callRefresh(current: TokenSet, reason: RefreshReason, version: number, lockSignal: AbortSignal): Promise<TokenSet> {
    const controller = new AbortController();
    const abort = (): void => controller.abort(lockSignal.reason);
    lockSignal.addEventListener('abort', abort, { once: true });
    let timedOut = false;
    let timedOutFlight: Flight | undefined;
    return new Promise<TokenSet>((resolve, reject) => {
      const timer = setTimeout(() => {
        timedOut = true;
        timedOutFlight = this.#flight;
        controller.abort(new Error('refresh timed out'));
        reject(
          new TokenRefreshError(
            'REFRESH_TIMEOUT',
            `Token refresh timed out: it did not settle within refreshTimeoutMs (${this.#timeoutMs} ms)`,
          ),
        );
      }, this.#timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        lockSignal.removeEventListener('abort', abort);
      };
      let result: TokenSet | Promise<TokenSet>;
      try {
        result = this.#refresh(current, { signal: controller.signal, reason });
      } catch (error) {
        settle();
        reject(error);
        return;
      }
      Promise.resolve(result).then(
        (value) => {
          settle();
          if (timedOut) void this.#lateAnswer(value, current, version, timedOutFlight);
          else resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  async #lateAnswer(value: TokenSet, previous: TokenSet, version: number, timedOut: Flight | undefined): Promise<void> {
    // The refresh token may be spent by now, so a late answer is worth keeping, but never over newer tokens or an
    // ended session. An answer right on the deadline first lets the flight it missed finish failing.
    if (timedOut !== undefined && this.#flight === timedOut) await timedOut.promise.catch(() => undefined);
    let adopted = false;
    if (this.#version === version && this.#flight === undefined && !this.#ended) {
      const promise = (async () => {
        try {
          const next = normalizeRefreshResult(value, previous);
          const written = await this.#store.write(next, version);
          if (written !== null) {
            adopted = true;
            this.#adopt(written, false);
            const failure = await this.#persist(next);
            this.#emitTokens(next, written.version);
            if (failure) this.#emit('refreshError', failure);
          }
        } catch {
          // An unusable late answer changes nothing: the tokens stay as they were.
        }
      })();
      // Held as a flight, so that requests wait for onTokens as they do after any refresh.
      const flight: Flight = { version, promise };
      this.#flight = flight;
      await promise;
      if (this.#flight === flight) this.#flight = undefined;
    }
    this.report({ type: 'refresh:late', adopted });
  }

  async #end(error: TokenRefreshError, version: number): Promise<void> {
    // Newer tokens (a login) are not ended by an older refusal; no tokens (logged out, ended already) have nothing to
    // end, and announcing a second end would send the app to its login screen twice.
    if (this.#version !== version || this.#tokens === null) return;
    const written = await this.#store.write(null, version);
    if (written === null) {
      this.#adoptFromElsewhere(await this.#store.read());
      if (this.#tokens !== null) return;
    } else {
      this.#adopt(written, false);
    }
    this.#ended = true;
    // Requests whose 401 arrives after the end get the server's own answer (status, oauthError), not a generic one.
    this.#endError = error;
    const endedAt = this.#version;
    const failure = await this.#persist(null);
    const current = this.#emitTokens(null, endedAt);
    this.#emit('refreshError', error);
    if (failure) this.#emit('refreshError', failure);
    // A login that happened while onTokens(null) ran must not be followed by "session expired".
    if (current) this.#emit('sessionExpired', error);
  }

  /**
   * Fires `tokens` unless newer tokens were adopted while `onTokens` ran (their own event comes, or came, instead), so
   * that the last event always names the tokens in use. Returns whether it fired.
   */
  #emitTokens(tokens: TokenSet | null, version: number): boolean {
    if (this.#version !== version) return false;
    this.#emit('tokens', tokens);
    return true;
  }

  /** Calls `onTokens` bounded by the timeout; returns the failure instead of throwing, since the tokens are in use. */
  async #persist(tokens: TokenSet | null): Promise<TokenRefreshError | undefined> {
    const onTokens = this.#onTokens;
    if (!onTokens) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        onTokens(tokens),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`onTokens did not settle within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        }),
      ]);
      return undefined;
    } catch (cause) {
      return new TokenRefreshError('PERSIST_FAILED', 'onTokens failed; the new tokens are in use but were not persisted', {
        cause,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  #adopt(stored: StoredTokens, fromApp: boolean): void {
    const { tokens } = stored;
    this.#tokens = tokens;
    this.#version = stored.version;
    if (tokens !== null) this.#endError = undefined;
    const access = tokens?.accessToken;
    this.#current = {
      tokens,
      version: stored.version,
      authorization: access ? `${tokens?.tokenType ?? 'Bearer'} ${access}` : undefined,
    };
    this.#refreshAt = this.#computeRefreshAt(tokens, fromApp);
  }

  #adoptFromElsewhere(stored: StoredTokens): void {
    if (stored.version === this.#version) return;
    const hadTokens = this.#tokens !== null;
    this.#adopt(stored, true);
    if (stored.tokens === null && hadTokens) this.#ended = true;
    if (stored.tokens !== null) this.#ended = false;
    this.#emit('tokens', stored.tokens);
  }

  #onStoreWrite(stored: StoredTokens): void {
    if (stored.version > this.#version) this.#adoptFromElsewhere(stored);
  }

  #computeRefreshAt(tokens: TokenSet | null, fromApp: boolean): number {
    const expiresAt = tokens?.expiresAt;
    if (expiresAt === undefined) return Number.POSITIVE_INFINITY;
    const lifetime = expiresAt - Date.now();
    // Fresh tokens that are already expired can't be trusted for timing (clock skew, a bad server): rely on 401s,
    // or every request would refresh.
    if (lifetime <= 0) return fromApp ? expiresAt : Number.POSITIVE_INFINITY;
    return expiresAt - Math.min(this.#leewayMs, lifetime / 2);
  }

  #ready(): Promise<void> {
    if (!this.#loader) return Promise.resolve();
    this.#loading ??= this.#loader().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(load: () => TokenSet | null | Promise<TokenSet | null>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const initial = await Promise.race([
        load(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new TypeError(`the tokens loader did not settle within ${this.#timeoutMs} ms`)),
            this.#timeoutMs,
          );
        }),
      ]);
      let stored = await this.#store.read();
      if (stored.version === 0 && stored.tokens === null && initial !== null) {
        stored = (await this.#store.write(initial, 0)) ?? (await this.#store.read());
      }
      // setTokens may have run while we loaded: only a newer version replaces what we have.
      if (stored.version >= this.#version) this.#adopt(stored, true);
      this.#loader = undefined;
    } catch (cause) {
      // Our own validation messages are safe to repeat; the loader's own message might quote a token, so it is not.
      const why = cause instanceof TypeError ? cause.message : `the loader threw ${describeThrown(cause)} (see \`cause\`)`;
      throw new TokenRefreshError('TOKENS_LOAD_FAILED', `Loading the initial tokens failed: ${why}`, { cause });
    } finally {
      clearTimeout(timer);
    }
  }

  #wait<T>(promise: Promise<T>, cancel?: WaitSignal): Promise<T> {
    const signal = cancel?.signal;
    const cancelToken = cancel?.cancelToken;
    this.#waiting += 1;
    this.report({ type: 'request:wait', waiting: this.#waiting });
    const done = (): void => {
      this.#waiting -= 1;
    };
    if (!signal && !cancelToken) {
      promise.then(done, done);
      return promise;
    }
    return new Promise<T>((resolve, reject) => {
      const canceled = (): void => {
        cleanup();
        reject(new CanceledError());
      };
      const cleanup = (): void => {
        done();
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
      promise.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  #emit<E extends SessionEventName>(event: E, payload: SessionEvents[E]): void {
    for (const listener of this.#listeners[event] as Set<(payload: SessionEvents[E]) => void>) {
      try {
        listener(payload);
      } catch (error) {
        // A listener's bug must not break the refresh; it is reported, and rethrown outside our call stack.
        this.report({ type: 'listener:error', event, error });
        queueMicrotask(() => {
          throw error;
        });
      }
    }
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
  return new Session(options);
}
