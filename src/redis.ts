import type { Redis } from 'ioredis';
import { TokenRefreshError } from './errors.js';
import type { ClosableTokenStore, LockContext, LockOptions, StoredTokens, TokenStore } from './store.js';
import { checkLockOptions } from './lock-options.js';
import type { TokenSet } from './tokens.js';
import { checkObject, expected } from './validate.js';

/**
 * Options of {@link createRedisTokenStore}.
 *
 * The tokens live in Redis in plain JSON: they are secrets. Give the client a Redis user whose ACL allows only the
 * prefix's keys and channels (`~axios-token-refresh:*`, `&axios-token-refresh:*`, `+get +set +del +eval +publish
 * +subscribe +unsubscribe`), connect with TLS (`rediss://`) when Redis is not on the same host, and keep Redis
 * persistence files as private as the keys themselves.
 */
export interface RedisTokenStoreOptions {
  /**
   * The ioredis client that reads and writes the tokens and takes the lock. It stays yours: `close()` does not quit it.
   * `ioredis` is an optional peer dependency; this module only uses the client you pass.
   *
   * @example
   * ```ts
   * import { Redis } from 'ioredis';
   * const redis = new Redis(process.env.REDIS_URL!);
   * const store = createRedisTokenStore({ redis, key: 'billing-api' });
   * ```
   */
  readonly redis: Redis;
  /**
   * A second connection for pub/sub (a Redis connection that subscribes can run no other command). It stays yours:
   * `close()` only unsubscribes this store's channels, so stores with different keys may share one subscriber.
   *
   * @default `redis.duplicate()`, made on first use and quit by `close()`
   */
  readonly subscriber?: Redis;
  /**
   * Names the login being shared: every process that uses the same `prefix` + `key` shares one set of tokens and
   * refreshes once. Use one key per client/account, e.g. the OAuth client id. Not secret; it appears in key names
   * and error messages.
   */
  readonly key: string;
  /**
   * Put before `key` in the names of the Redis keys (`<prefix><key>:tokens`, `<prefix><key>:lock`) and channels
   * (the same names).
   *
   * @default 'axios-token-refresh:'
   */
  readonly prefix?: string;
  /**
   * While the lock is taken, waiters retry taking it after 5 ms, doubling up to this many milliseconds. A holder that
   * releases the lock also announces it, which wakes waiters at once; the polling only matters when the holder died
   * and its lease ran out. Must be a finite number >= 1.
   *
   * @default 100
   */
  readonly maxPollIntervalMs?: number;
}

const DEFAULT_PREFIX = 'axios-token-refresh:';
const DEFAULT_MAX_POLL_MS = 100;
const FIRST_POLL_MS = 5;
const RELEASED = 'released';

// KEYS[1] tokens key; ARGV[1] expected version, ARGV[2] tokens JSON (or null), ARGV[3] channel, ARGV[4] writer id.
// The version sits first in the record so the script can read it without decoding the tokens.
const WRITE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
local version = 0
if current then
  local found = string.match(current, '^{"version":(%d+),')
  if not found then return redis.error_reply('ERR not a token record') end
  version = tonumber(found)
end
if version ~= tonumber(ARGV[1]) then return -1 end
version = version + 1
local record = '{"version":' .. version .. ',"tokens":' .. ARGV[2] .. '}'
redis.call('SET', KEYS[1], record)
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. record)
return version
`;

// KEYS[1] lock key; ARGV[1] owner token, ARGV[2] channel. Deletes only our own lock: after our lease ran out, the key
// may belong to someone else.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], '${RELEASED}')
  return 1
end
return 0
`;

/**
 * A {@link TokenStore} in Redis, for a fleet of Node processes that share one login: one refresh for all of them,
 * even with refresh-token rotation.
 *
 * - Tokens: one key holding `{"version":n,"tokens":{…}}`; writes are a compare-and-set on the version in a Lua script.
 * - Lock: `SET <prefix><key>:lock <random owner> NX PX <leaseMs>`, released by a compare-and-delete script, so a
 *   holder whose lease ran out can never free someone else's lock. When the lease runs out while the task is still
 *   running, the task's `signal` aborts. A process that dies holding the lock blocks the others for at most the lease.
 * - Announcements: every write is published on the channel `<prefix><key>:tokens` (`subscribe`), every release on
 *   `<prefix><key>:lock` so that waiters take the lock at once instead of at their next poll.
 *
 * Tokens in Redis are secrets: see {@link RedisTokenStoreOptions} for ACLs and TLS. Errors never contain them.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { attachRefresh } from 'axios-token-refresh';
 * import { createRedisTokenStore } from 'axios-token-refresh/redis';
 *
 * const store = createRedisTokenStore({ redis: new Redis(process.env.REDIS_URL!), key: 'reports-service' });
 * attachRefresh(api, { store, refresh: refreshTokenGrant({ tokenUrl, clientId }) });
 * ```
 */
export function createRedisTokenStore(options: RedisTokenStoreOptions): ClosableTokenStore {
  return new RedisTokenStore(checkOptions(options));
}

interface CheckedOptions {
  readonly redis: Redis;
  readonly subscriber: Redis | undefined;
  readonly base: string;
  readonly maxPollIntervalMs: number;
}

function checkOptions(options: RedisTokenStoreOptions): CheckedOptions {
  checkObject(options);
  const problems: string[] = [];
  const isClient = (value: unknown): boolean =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { eval?: unknown }).eval === 'function' &&
    typeof (value as { subscribe?: unknown }).subscribe === 'function';
  if (!isClient(options.redis)) {
    problems.push(expected('redis', 'an ioredis client', options.redis));
  }
  if (options.subscriber !== undefined && !isClient(options.subscriber)) {
    problems.push(expected('subscriber', 'an ioredis client', options.subscriber));
  }
  if (typeof options.key !== 'string' || options.key === '') {
    problems.push(expected('key', 'a non-empty string', options.key));
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') {
    problems.push(expected('prefix', 'a string', prefix));
  }
  const maxPoll = options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_MS;
  if (typeof maxPoll !== 'number' || !Number.isFinite(maxPoll) || maxPoll < 1) {
    problems.push(expected('maxPollIntervalMs', 'a finite number >= 1', maxPoll));
  }
  if (problems.length > 0) throw new TypeError(problems.join('; '));
  return {
    redis: options.redis,
    subscriber: options.subscriber,
    base: `${prefix}${options.key}`,
    maxPollIntervalMs: maxPoll,
  };
}


function randomId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Parses a stored or announced record; undefined when it is not one of ours. */
function parseRecord(text: string): StoredTokens | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { version, tokens } = value as { version?: unknown; tokens?: unknown };
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) return undefined;
    if (tokens !== null && (typeof tokens !== 'object' || Array.isArray(tokens))) return undefined;
    return { version, tokens: tokens as TokenSet | null };
  } catch {
    return undefined;
  }
}

/**
 * An error from the Redis client without what it carries beside its message: ioredis attaches the command and its
 * arguments to reply errors, and a write's arguments are the tokens.
 */
function sanitized(error: unknown): Error {
  if (!(error instanceof Error)) return new Error('a non-Error value was thrown');
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}

/** How long after the SET was sent we must consider the lease lost: Redlock's allowance for clock drift. */
function safeLeaseMs(leaseMs: number): number {
  return Math.max(0, leaseMs - Math.ceil(leaseMs * 0.01) - 2);
}

class RedisTokenStore implements TokenStore {
  readonly #redis: Redis;
  readonly #tokensKey: string;
  readonly #lockKey: string;
  readonly #maxPollMs: number;
  /** Marks our own announcements so `subscribe` listeners hear only writes made by others. */
  readonly #writerId = randomId();
  readonly #listeners = new Set<(stored: StoredTokens) => void>();
  /** Waiters for the lock, woken by a release announcement. */
  readonly #wakers = new Set<() => void>();
  /** Abort controllers of running lock tasks and waiters, aborted by `close()`. */
  readonly #active = new Set<AbortController>();
  readonly #givenSubscriber: Redis | undefined;
  #subscriber: Redis | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(options: CheckedOptions) {
    this.#redis = options.redis;
    this.#givenSubscriber = options.subscriber;
    this.#tokensKey = `${options.base}:tokens`;
    this.#lockKey = `${options.base}:lock`;
    this.#maxPollMs = options.maxPollIntervalMs;
  }

  async read(): Promise<StoredTokens> {
    this.#assertOpen('read');
    let text: string | null;
    try {
      text = await this.#redis.get(this.#tokensKey);
    } catch (error) {
      throw new TokenRefreshError(
        'TOKENS_LOAD_FAILED',
        `Reading tokens from Redis key \`${this.#tokensKey}\` failed: ${sanitized(error).message}`,
        { cause: sanitized(error) },
      );
    }
    if (text === null) return { tokens: null, version: 0 };
    const stored = parseRecord(text);
    if (stored === undefined) {
      throw new TokenRefreshError(
        'TOKENS_LOAD_FAILED',
        `Reading tokens from Redis key \`${this.#tokensKey}\` failed: the value is not a token record`,
      );
    }
    return stored;
  }

  async write(tokens: TokenSet | null, expectedVersion: number): Promise<StoredTokens | null> {
    this.#assertOpen('write');
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new TypeError(
        expected('expectedVersion', 'an integer >= 0', expectedVersion),
      );
    }
    let version: unknown;
    try {
      version = await this.#redis.eval(
        WRITE_SCRIPT,
        1,
        this.#tokensKey,
        String(expectedVersion),
        JSON.stringify(tokens),
        this.#tokensKey,
        this.#writerId,
      );
    } catch (error) {
      throw new TokenRefreshError(
        'PERSIST_FAILED',
        `Writing tokens to Redis key \`${this.#tokensKey}\` failed: ${sanitized(error).message}`,
        { cause: sanitized(error) },
      );
    }
    if (version === -1) return null;
    // Round-trip through JSON so the caller holds exactly what other processes will read.
    return { tokens: tokens === null ? null : (JSON.parse(JSON.stringify(tokens)) as TokenSet), version: Number(version) };
  }

  async withLock<T>(task: (context: LockContext) => Promise<T>, options: LockOptions): Promise<T> {
    this.#assertOpen('withLock');
    checkLockOptions(options);
    const owner = randomId();
    const controller = new AbortController();
    this.#active.add(controller);
    try {
      const leaseStart = await this.#acquire(owner, options, controller.signal);
      const remaining = safeLeaseMs(options.leaseMs) - (performance.now() - leaseStart);
      const timer = setTimeout(() => controller.abort(leaseLost(this.#lockKey, options.leaseMs)), Math.max(0, remaining));
      try {
        return await task({ signal: controller.signal });
      } finally {
        clearTimeout(timer);
        await this.#release(owner);
      }
    } finally {
      this.#active.delete(controller);
    }
  }

  subscribe(listener: (stored: StoredTokens) => void): () => void {
    this.#assertOpen('subscribe');
    if (typeof listener !== 'function') {
      throw new TypeError(expected('listener', 'a function', listener));
    }
    this.#listeners.add(listener);
    // A failed subscription leaves polling working; listeners then hear nothing, as with a store nobody shares.
    this.#ensureSubscribed().catch(() => undefined);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new TokenRefreshError('REFRESH_FAILED', `The Redis token store for \`${this.#tokensKey}\` was closed`);
    for (const controller of this.#active) controller.abort(closed);
    for (const wake of this.#wakers) wake();
    this.#listeners.clear();
    const subscriber = this.#subscriber;
    if (subscriber === undefined) return;
    subscriber.removeListener('message', this.#onMessage);
    const subscribed = this.#subscribed;
    this.#subscriber = undefined;
    this.#subscribed = undefined;
    await subscribed?.catch(() => undefined);
    if (subscriber === this.#givenSubscriber) {
      await subscriber.unsubscribe(this.#tokensKey, this.#lockKey).catch(() => undefined);
    } else {
      await subscriber.quit().catch(() => subscriber.disconnect());
    }
  }

  #assertOpen(method: string): void {
    if (this.#closed) {
      throw new TokenRefreshError(
        'REFRESH_FAILED',
        `Cannot call \`${method}()\`: the Redis token store for \`${this.#tokensKey}\` was closed`,
      );
    }
  }

  /** Takes the lock or throws; resolves with the `performance.now()` at which the winning SET was sent. */
  async #acquire(owner: string, options: LockOptions, signal: AbortSignal): Promise<number> {
    const deadline = performance.now() + options.waitMs;
    let pollMs = FIRST_POLL_MS;
    let subscribedOnce = false;
    for (;;) {
      const sentAt = performance.now();
      let answer: unknown;
      try {
        answer = await this.#redis.set(this.#lockKey, owner, 'PX', Math.ceil(options.leaseMs), 'NX');
      } catch (error) {
        throw new TokenRefreshError(
          'REFRESH_FAILED',
          `Taking the refresh lock \`${this.#lockKey}\` in Redis failed: ${sanitized(error).message}`,
          { cause: sanitized(error) },
        );
      }
      if (answer === 'OK') {
        if (signal.aborted) {
          // Closed while the SET was in flight.
          await this.#release(owner);
          throw signal.reason;
        }
        return sentAt;
      }
      if (signal.aborted) throw signal.reason;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new TokenRefreshError(
          'REFRESH_TIMEOUT',
          `Timed out after ${options.waitMs} ms waiting for the refresh lock \`${this.#lockKey}\` in Redis`,
        );
      }
      if (!subscribedOnce) {
        subscribedOnce = true;
        // Subscribe, then try again at once: a release announced before the subscription was in place is not lost.
        await this.#ensureSubscribed().catch(() => undefined);
        continue;
      }
      const jittered = pollMs / 2 + Math.random() * (pollMs / 2);
      await this.#sleepUntilReleased(Math.min(jittered, left));
      pollMs = Math.min(pollMs * 2, this.#maxPollMs);
    }
  }

  #sleepUntilReleased(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  async #release(owner: string): Promise<void> {
    try {
      await this.#redis.eval(RELEASE_SCRIPT, 1, this.#lockKey, owner, this.#lockKey);
    } catch {
      // The lease frees the lock anyway; failing the finished task over the release would hide its result.
    }
  }

  #ensureSubscribed(): Promise<void> {
    if (this.#subscribed !== undefined) return this.#subscribed;
    const subscriber = this.#givenSubscriber ?? this.#redis.duplicate();
    if (subscriber !== this.#givenSubscriber) {
      // Our own connection: its errors have nowhere to go, and ioredis would print them.
      subscriber.on('error', () => undefined);
    }
    this.#subscriber = subscriber;
    subscriber.on('message', this.#onMessage);
    this.#subscribed = subscriber.subscribe(this.#tokensKey, this.#lockKey).then(() => undefined);
    return this.#subscribed;
  }

  readonly #onMessage = (channel: string, message: string): void => {
    if (channel === this.#lockKey) {
      if (message === RELEASED) for (const wake of this.#wakers) wake();
      return;
    }
    if (channel !== this.#tokensKey) return;
    const space = message.indexOf(' ');
    if (space < 0 || message.slice(0, space) === this.#writerId) return;
    const stored = parseRecord(message.slice(space + 1));
    if (stored === undefined) return;
    for (const listener of this.#listeners) {
      try {
        listener(stored);
      } catch {
        // A listener's failure must not stop the others, nor surface inside ioredis' event loop.
      }
    }
  };
}

function leaseLost(lockKey: string, leaseMs: number): TokenRefreshError {
  return new TokenRefreshError(
    'REFRESH_TIMEOUT',
    `The refresh lock \`${lockKey}\` in Redis was lost: its lease of ${leaseMs} ms ran out before the task finished`,
  );
}
