import type { Redis } from 'ioredis';
import { isTokenRefreshError, TokenRefreshError } from './errors.js';
import {
  Backoff,
  checkExpectedVersion,
  checkLockOptions,
  DEFAULT_OPERATION_TIMEOUT_MS,
  jsonCopy,
  leaseLost,
  Listeners,
  lockTimedOut,
  malformedAt,
  noop,
  OneAtATime,
  randomId,
  reportDropped,
  reportStoreError,
  safeLeaseMs,
  Sleepers,
  StoreLife,
  type StoreListener,
  Versions,
} from './shared-store.js';
import {
  parseStoredRecord,
  storedRecord,
  type EndReason,
  type LockContext,
  type LockOptions,
  type SharedTokenStore,
  type StoredTokens,
  type TokenStore,
} from './store.js';
import type { TokenSet } from './tokens.js';
import { checkObject, checkOptions, isFunction, isNumberFrom, isNonEmptyString, withDefaults } from './validate.js';
import { within } from './within.js';

export type { SharedTokenStore } from './store.js';

/**
 * Options of {@link createRedisTokenStore}.
 *
 * The tokens live in Redis in plain JSON: they are secrets. Give the client a Redis user whose ACL allows only the
 * prefix's keys and channels (`~axios-token-refresh:*`, `&axios-token-refresh:*`, `+get +set +del +eval +publish
 * +subscribe +unsubscribe +ping +info`; the scripts' `GET`, `SET`, `DEL` and `PUBLISH` are checked too, and `+info` is
 * for ioredis's ready check, not needed with `enableReadyCheck: false`), connect with TLS (`rediss://`) when Redis is
 * not on the same host, and keep Redis persistence files as private as the keys themselves.
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
  /**
   * How long one Redis command (a read, a write, taking or releasing the lock, subscribing) may go unanswered, in
   * milliseconds, before the call fails with a `TokenRefreshError` of code `STORE_FAILED` (the tokens in use are kept).
   * It bounds what ioredis does by default while Redis is unreachable (queueing commands and reconnecting forever), so
   * a request never waits on Redis for longer. Taking the lock is bounded by the session's `waitMs` as well, and
   * `close()` waits at most this long for a subscriber connection you gave it. Must be a finite number >= 1.
   *
   * @default 5000
   */
  readonly operationTimeoutMs?: number;
  /**
   * Hears about problems that no call of the store can report because nobody made one: an announcement on the
   * channel that is not a well-formed token record (dropped, never passed to the session), a lock that could not be
   * released (it frees itself when its lease runs out). Each is a `TokenRefreshError` of code `STORE_FAILED` whose
   * message never contains a token. When left out, they go to `process.emitWarning`. If it throws, that is reported
   * like any callback error.
   *
   * @default undefined (a process warning)
   */
  readonly onError?: (error: TokenRefreshError) => void;
}

const DEFAULTS = {
  prefix: 'axios-token-refresh:',
  maxPollIntervalMs: 100,
  operationTimeoutMs: DEFAULT_OPERATION_TIMEOUT_MS,
} as const;
const RELEASED = 'released';

// The version a stored record claims, decoded with Redis's cjson whatever the record's spelling (key order, spaces,
// pretty-printing): nil when the text is not a JSON object with a numeric `version`. Text cjson cannot decode but
// JavaScript can (a lone surrogate escape, say) also gives nil: the caller then checks the record itself.
const CLAIMED_VERSION = `
local function claimed_version(text)
  local ok, record = pcall(cjson.decode, text)
  if not ok or type(record) ~= 'table' or type(record.version) ~= 'number' then return nil end
  return record.version
end
`;

// Writes the record at `version`, announces it, and returns the version. `%d` keeps large versions out of the
// exponent notation Lua's own number-to-text conversion would use.
const SAVE = `
local function save(version, tokens, channel, writer)
  local record = '{"version":' .. string.format('%d', version) .. ',"tokens":' .. tokens .. '}'
  redis.call('SET', KEYS[1], record)
  redis.call('PUBLISH', channel, writer .. ' ' .. record)
  return version
end
`;

// KEYS[1] tokens key; ARGV[1] expected version, ARGV[2] tokens JSON (or null), ARGV[3] channel, ARGV[4] writer id,
// ARGV[5] the highest version the writer saw in Redis. Returns the new version, -1 when the stored version differs
// from the expected one, -2 when the record cannot be decoded (the caller then checks whether it is malformed).
// A stored version below the one the writer saw means Redis lost data (a restart without persistence, a restore from
// an older backup): the write goes above the lost versions, so that every process that heard them hears this one.
const WRITE_SCRIPT = `${CLAIMED_VERSION}${SAVE}
local current = redis.call('GET', KEYS[1])
local version = 0
if current then
  version = claimed_version(current)
  if version == nil then return -2 end
end
if version ~= tonumber(ARGV[1]) then return -1 end
local seen = tonumber(ARGV[5])
if seen > version then version = seen end
return save(version + 1, ARGV[2], ARGV[3], ARGV[4])
`;

// Replaces a record the write script could not compare (malformed, or undecodable by cjson), but only the very text
// the caller checked: a concurrent repair or write wins. KEYS[1] tokens key; ARGV[1] the text, ARGV[2] expected
// version, ARGV[3] tokens JSON, ARGV[4] channel, ARGV[5] writer id, ARGV[6] the highest version the writer saw. The new
// version is above the expected one, the one the writer saw, and any the record claims.
const REPLACE_SCRIPT = `${CLAIMED_VERSION}${SAVE}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local version = math.max(tonumber(ARGV[2]), tonumber(ARGV[6]))
local found = claimed_version(ARGV[1]) or tonumber(string.match(ARGV[1], '"version"%s*:%s*(%d+)'))
if found and found > version and found <= 9007199254740990 then version = math.floor(found) end
return save(version + 1, ARGV[3], ARGV[4], ARGV[5])
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
 * - Tokens: one key holding `{"version":n,"tokens":{…}}`; writes are a compare-and-set on the version in a Lua script
 *   (which decodes the record with `cjson`, so a record written by other tools compares too). A record that is not a
 *   well-formed token record is never adopted: `read()` rejects with `STORE_FAILED`, and the next write replaces it.
 *   After Redis lost data (the key is gone or older than a version this store saw), a write lands above every version
 *   this store saw, so that the processes that heard the lost versions hear it.
 * - Lock: `SET <prefix><key>:lock <random owner> NX PX <leaseMs>`, released by a compare-and-delete script, so a
 *   holder whose lease ran out can never free someone else's lock. When the lease runs out while the task is still
 *   running, the task's `signal` aborts. A process that dies holding the lock blocks the others for at most the lease.
 * - Announcements: every write is published on the channel `<prefix><key>:tokens`, every release on
 *   `<prefix><key>:lock` so that waiters take the lock at once instead of at their next poll. An announcement only
 *   says that something was written: `subscribe` listeners hear the record read back from Redis, never the message's.
 * - Deadlines: every Redis command is bounded by `operationTimeoutMs` (and taking the lock by `waitMs`); a call that
 *   runs out fails with `STORE_FAILED`, whatever the client's own retry and offline-queue settings.
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
export function createRedisTokenStore(options: RedisTokenStoreOptions): SharedTokenStore {
  checkObject(options);
  const given = checkOptions(options, [
    ['redis', 'an ioredis client', isClient, true],
    ['subscriber', 'an ioredis client', isClient],
    ['key', 'a non-empty string', isNonEmptyString, true],
    ['prefix', 'a string', (value) => typeof value === 'string'],
    ['maxPollIntervalMs', 'a finite number >= 1', isNumberFrom(1)],
    ['operationTimeoutMs', 'a finite number >= 1', isNumberFrom(1)],
    ['onError', 'a function', isFunction],
  ]);
  return new RedisTokenStore(withDefaults(DEFAULTS, given));
}

type ResolvedOptions = RedisTokenStoreOptions & typeof DEFAULTS;

function isClient(value: unknown): boolean {
  const client = value as { eval?: unknown; subscribe?: unknown } | null;
  return typeof client === 'object' && client !== null && isFunction(client.eval) && isFunction(client.subscribe);
}

/**
 * An error from the Redis client without what it carries beside its message: ioredis attaches the command and its
 * arguments to reply errors, and a write's arguments are the tokens.
 */
function withoutCommand(error: unknown): Error {
  if (!(error instanceof Error)) return new Error('a non-Error value was thrown');
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}

class RedisTokenStore implements SharedTokenStore {
  readonly #redis: Redis;
  readonly #tokensKey: string;
  readonly #lockKey: string;
  readonly #maxPollMs: number;
  readonly #operationMs: number;
  readonly #onError: ((error: TokenRefreshError) => void) | undefined;
  readonly #life: StoreLife;
  /** Marks our own announcements so `subscribe` listeners hear only writes made by others. */
  readonly #writerId = randomId();
  readonly #listeners: Listeners;
  /**
   * `heard`: listeners hear only newer versions, or the one Redis went back to (it lost data: a read found a version
   * below `heard`, and `heard` is lowered so that what is written next reaches them again).
   */
  readonly #versions = new Versions();
  /** Reads the record back after an announcement, one read at a time. */
  readonly #verifier = new OneAtATime(
    () => this.#verifyOnce(),
    () => this.#life.closed,
  );
  /** Waiters for the lock, woken by a release announcement. */
  readonly #waiters = new Sleepers();
  readonly #givenSubscriber: Redis | undefined;
  #subscriber: Redis | undefined;
  #subscribed: Promise<void> | undefined;

  constructor(options: ResolvedOptions) {
    this.#redis = options.redis;
    this.#givenSubscriber = options.subscriber;
    const base = `${options.prefix}${options.key}`;
    this.#tokensKey = `${base}:tokens`;
    this.#lockKey = `${base}:lock`;
    this.#maxPollMs = options.maxPollIntervalMs;
    this.#operationMs = options.operationTimeoutMs;
    this.#onError = options.onError;
    this.#life = new StoreLife(`the Redis token store for \`${this.#tokensKey}\``);
    this.#listeners = new Listeners(this.#life.where);
  }

  async read(): Promise<StoredTokens> {
    this.#life.assertOpen('read');
    const what = `Reading tokens from Redis key \`${this.#tokensKey}\``;
    const writes = this.#versions.writes;
    const text = await this.#command(what, this.#operationMs, () => this.#redis.get(this.#tokensKey));
    const parsed = text === null ? { record: storedRecord(null, 0) } : parseStoredRecord(text);
    if ('problem' in parsed) throw malformedAt(what, parsed.problem);
    this.#found(parsed.record, writes);
    return parsed.record;
  }

  async write(tokens: TokenSet | null, expectedVersion: number, ended?: EndReason): Promise<StoredTokens | null> {
    this.#life.assertOpen('write');
    checkExpectedVersion(expectedVersion);
    // The scripts splice this text in as the record's `tokens` value; why the tokens are gone rides along after it.
    const json =
      JSON.stringify(tokens) + (tokens === null && ended !== undefined ? `,"ended":${JSON.stringify(ended)}` : '');
    const what = `Writing tokens to Redis key \`${this.#tokensKey}\``;
    const version = await this.#command(what, this.#operationMs, () => this.#compareAndSet(json, expectedVersion));
    if (version === -1) return null;
    // Round-trip through JSON so the caller holds exactly what other processes will read.
    const written = storedRecord(jsonCopy(tokens), version, ended);
    this.#versions.wrote(written);
    return written;
  }

  /** Runs the write script, and the replace script when the record there is malformed; -1 when someone wrote first. */
  async #compareAndSet(json: string, expectedVersion: number): Promise<number> {
    const key = this.#tokensKey;
    const expected = String(expectedVersion);
    const seen = String(this.#versions.seen);
    const written = Number(await this.#redis.eval(WRITE_SCRIPT, 1, key, expected, json, key, this.#writerId, seen));
    if (written >= 0) return written;
    // Someone else wrote first, or the record there is malformed, or the script could not decode it (-2): only a
    // malformed record, or an undecodable one at the expected version, is replaced.
    const current = await this.#redis.get(key);
    if (current === null) return -1;
    const parsed = parseStoredRecord(current);
    if ('record' in parsed && !(written === -2 && parsed.record.version === expectedVersion)) return -1;
    return Number(await this.#redis.eval(REPLACE_SCRIPT, 1, key, current, expected, json, key, this.#writerId, seen));
  }

  async withLock<T>(task: (context: LockContext) => Promise<T>, options: LockOptions): Promise<T> {
    this.#life.assertOpen('withLock');
    checkLockOptions(options);
    const owner = randomId();
    return this.#life.abortable(async (controller) => {
      const leaseStart = await this.#acquire(owner, options, controller.signal);
      const remaining = safeLeaseMs(options.leaseMs) - (performance.now() - leaseStart);
      const timer = setTimeout(
        () => controller.abort(leaseLost(`the refresh lock \`${this.#lockKey}\` in Redis`, options.leaseMs)),
        Math.max(0, remaining),
      );
      try {
        return await task({ signal: controller.signal });
      } finally {
        clearTimeout(timer);
        await this.#release(owner);
      }
    });
  }

  subscribe(listener: StoreListener): () => void {
    this.#life.assertOpen('subscribe');
    const unsubscribe = this.#listeners.add(listener);
    // A failed subscription leaves polling working; it is reported, and the next subscribe or lock wait tries again.
    this.#ensureSubscribed().catch((error: unknown) => {
      // After close() the failure is ours (the connection was dropped on purpose): nothing to report.
      if (!this.#life.closed) reportStoreError(this.#onError, this.#asStoreError(error, 'Subscribing to'));
    });
    return unsubscribe;
  }

  async close(): Promise<void> {
    if (!this.#life.close()) return;
    this.#waiters.wakeAll();
    this.#listeners.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    this.#subscribed = undefined;
    if (subscriber === undefined) return;
    subscriber.removeListener('message', this.#onMessage);
    subscriber.removeListener('ready', this.#onReady);
    if (subscriber !== this.#givenSubscriber) {
      // Our own connection only ever subscribed: nothing to flush, so it goes at once, whatever Redis does.
      subscriber.disconnect();
      return;
    }
    const unsubscribed = subscriber.unsubscribe(this.#tokensKey, this.#lockKey).then(noop);
    await within(unsubscribed, this.#operationMs, () => new Error('unsubscribe timed out')).catch(noop);
  }

  /**
   * Runs one Redis exchange bounded by `ms`; every failure becomes `STORE_FAILED` naming `what`, with the client's
   * error (its command and arguments removed: they may hold tokens) as `cause`.
   */
  async #command<T>(what: string, ms: number, run: () => Promise<T>): Promise<T> {
    let pending: Promise<T>;
    try {
      pending = run();
    } catch (error) {
      pending = Promise.reject(error);
    }
    try {
      return await within(pending, ms, () => this.#timeout(what, ms));
    } catch (error) {
      throw isTokenRefreshError(error) ? error : this.#asStoreError(error, what, true);
    }
  }

  #timeout(what: string, ms: number): TokenRefreshError {
    return new TokenRefreshError(
      'STORE_FAILED',
      `${what} failed: Redis did not answer within ${Math.round(ms)} ms (connection ${this.#redis.status})`,
    );
  }

  #asStoreError(error: unknown, what: string, full = false): TokenRefreshError {
    if (isTokenRefreshError(error)) return error;
    const cause = withoutCommand(error);
    const subject = full ? what : `${what} the Redis channel \`${this.#tokensKey}\``;
    return new TokenRefreshError('STORE_FAILED', `${subject} failed: ${cause.message}`, { cause });
  }

  /** Takes the lock or throws; resolves with the `performance.now()` at which the winning SET was sent. */
  async #acquire(owner: string, options: LockOptions, signal: AbortSignal): Promise<number> {
    const deadline = performance.now() + options.waitMs;
    const backoff = new Backoff(this.#maxPollMs);
    let subscribedOnce = false;
    let first = true;
    for (;;) {
      const sentAt = performance.now();
      // The first try gets a whole round trip (waitMs is how long to wait for another holder, not for Redis, and may
      // be 0); later tries only what is left of waitMs.
      const ms = first ? this.#operationMs : Math.min(this.#operationMs, Math.max(1, deadline - sentAt));
      first = false;
      if (await this.#trySet(owner, options.leaseMs, ms, signal)) return sentAt;
      if (signal.aborted) throw signal.reason;
      const left = deadline - performance.now();
      if (left <= 0) throw lockTimedOut(options.waitMs, `refresh lock \`${this.#lockKey}\` in Redis`);
      if (!subscribedOnce) {
        subscribedOnce = true;
        // Subscribe, then try again at once: a release announced before the subscription was in place is not lost.
        // Bounded: without the subscription, polling still finds the lock free.
        await within(this.#ensureSubscribed(), Math.min(this.#operationMs, left), () => new Error('timeout')).catch(
          noop,
        );
        continue;
      }
      await this.#waiters.sleep(backoff.next(left));
    }
  }

  /** One `SET NX` of the lock, bounded by `ms`: whether it is ours now. */
  async #trySet(owner: string, leaseMs: number, ms: number, signal: AbortSignal): Promise<boolean> {
    const what = `Taking the refresh lock \`${this.#lockKey}\` in Redis`;
    const setting = this.#redis.set(this.#lockKey, owner, 'PX', Math.ceil(leaseMs), 'NX');
    let answer: unknown;
    try {
      answer = await this.#command(what, ms, () => setting);
    } catch (error) {
      // A SET that Redis runs after we gave up (ioredis queues commands while offline) must not leave a lock behind.
      setting.then((late) => (late === 'OK' ? this.#release(owner) : undefined), noop);
      throw error;
    }
    if (answer !== 'OK') return false;
    if (signal.aborted) {
      // Closed while the SET was in flight.
      await this.#release(owner);
      throw signal.reason;
    }
    return true;
  }

  async #release(owner: string): Promise<void> {
    const what = `Releasing the refresh lock \`${this.#lockKey}\` in Redis`;
    try {
      await this.#command(what, this.#operationMs, () =>
        this.#redis.eval(RELEASE_SCRIPT, 1, this.#lockKey, owner, this.#lockKey),
      );
    } catch (error) {
      // The lease frees the lock anyway; failing the finished task over the release would hide its result.
      reportStoreError(this.#onError, error as TokenRefreshError);
    }
  }

  #ensureSubscribed(): Promise<void> {
    if (this.#subscribed !== undefined) return this.#subscribed;
    const subscriber = this.#subscriberConnection();
    const subscribed = subscriber.subscribe(this.#tokensKey, this.#lockKey).then(noop);
    this.#subscribed = subscribed;
    // A failed SUBSCRIBE is tried again by the next caller.
    subscribed.catch(() => {
      if (this.#subscribed === subscribed) this.#subscribed = undefined;
    });
    return subscribed;
  }

  /** The connection that subscribes: the one given, or our own, made on first use. */
  #subscriberConnection(): Redis {
    if (this.#subscriber !== undefined) return this.#subscriber;
    // Our own connection subscribes again itself after a reconnect: ioredis's own resubscription is a promise nobody
    // can catch, and closing the store while it is in flight would be an unhandled rejection (a crash, in Node).
    const own = this.#givenSubscriber === undefined;
    const subscriber = this.#givenSubscriber ?? this.#redis.duplicate({ autoResubscribe: false });
    // Its errors have nowhere to go, and ioredis would print them.
    if (own) subscriber.on('error', noop);
    let connected = subscriber.status === 'ready';
    this.#onReady = () => {
      if (connected && this.#subscriber === subscriber) {
        // Back after a drop: what was announced meanwhile is lost, so the record is read back once subscribed again.
        // Subscribed again by us, also on a connection given with `autoResubscribe: false` (twice is harmless).
        this.#subscribed = undefined;
        this.#ensureSubscribed().then(() => this.#verifier.run(), noop);
      }
      connected = true;
    };
    subscriber.on('ready', this.#onReady);
    this.#subscriber = subscriber;
    subscriber.on('message', this.#onMessage);
    return subscriber;
  }

  /** The subscriber connection's `ready` listener (see `#subscriberConnection`). */
  #onReady: () => void = noop;

  readonly #onMessage = (channel: string, message: string): void => {
    if (channel === this.#lockKey) {
      if (message === RELEASED) this.#waiters.wakeAll();
      return;
    }
    if (channel !== this.#tokensKey || this.#life.closed) return;
    const space = message.indexOf(' ');
    if (space >= 0 && message.slice(0, space) === this.#writerId) return;
    const parsed = parseStoredRecord(space < 0 ? message : message.slice(space + 1));
    if ('problem' in parsed) {
      reportDropped(this.#onError, `the Redis channel \`${this.#tokensKey}\``, parsed.problem);
      return;
    }
    // An announcement is only news that something was written: anyone allowed to PUBLISH on the channel can send one,
    // with any version and tokens. What reaches the listeners is what Redis holds, read back.
    this.#verifier.run();
  };

  /** Reads the record back from Redis after an announcement and passes it on when it is newer than any heard. */
  async #verifyOnce(): Promise<void> {
    const what = `Reading back the tokens announced on the Redis channel \`${this.#tokensKey}\``;
    const writes = this.#versions.writes;
    let text: string | null;
    try {
      text = await this.#command(what, this.#operationMs, () => this.#redis.get(this.#tokensKey));
    } catch (error) {
      if (!this.#life.closed) reportStoreError(this.#onError, error as TokenRefreshError);
      return;
    }
    if (this.#life.closed) return;
    // A malformed record is for `read()` to report and the next write to replace; nobody adopts it.
    const parsed = text === null ? { record: storedRecord(null, 0) } : parseStoredRecord(text);
    if (!('record' in parsed)) return;
    // Redis going back is news too: it holds other tokens than any the listeners heard. So is other contents at the
    // version heard: a login written after Redis lost its data, by a process that never saw our versions.
    const { record } = parsed;
    const wentBack = this.#found(record, writes);
    const news =
      record.version > this.#versions.heard || (writes === this.#versions.writes && !this.#versions.isHeard(record));
    if (!wentBack && !news) return;
    this.#versions.hear(record);
    this.#listeners.tell(record);
  }

  /**
   * Notes the record a read found in Redis (`writes`: this store's write count when the read was sent). One below what
   * the listeners heard means Redis went back (it lost data): what is written next is news again. Returns whether it
   * went back.
   */
  #found(record: StoredTokens, writes: number): boolean {
    this.#versions.found(record.version);
    return writes === this.#versions.writes && this.#versions.wentBack(record);
  }
}
