import { deleteHeaders } from './headers.js';
/**
 * `axios-token-refresh/dpop`: sender-constrained tokens (RFC 9449). A P-256 key made and used with WebCrypto only,
 * proofs, the nonces servers hand out, and the interceptors `attachRefresh` installs through {@link DpopHooks}.
 */
import axios, {
  type AxiosAdapter,
  type AxiosError,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { challengeError } from './challenge.js';
import { lastTransform } from './send-guard.js';
import { TokenRefreshError } from './errors.js';
import type { DpopHooks, DpopProofRequest, DpopResend } from './options.js';
import { checkObject, checkOptions, expected, isBoolean, type Rule } from './validate.js';

export type { DpopHooks, DpopProofRequest, DpopResend } from './options.js';

declare module 'axios' {
  interface AxiosRequestConfig {
    /**
     * @internal The token version for which the DPoP interceptor replayed this request with a new nonce: once per
     * token, so a refresh in between allows one more.
     */
    'axios-token-refresh/dpop'?: number;
  }
}

/** The public half of a DPoP key, as it goes into every proof's header (RFC 7518 §6.2.1). */
export interface DpopPublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** Where a browser keeps its DPoP key between page loads. */
export interface DpopPersistOptions {
  /**
   * The key's name in the IndexedDB database `axios-token-refresh-dpop` (one per login, e.g. the app's name). Every tab
   * of the origin that opens the same name gets the same key; the first one to get there creates it.
   */
  readonly name: string;
}

/**
 * Options of {@link createDpop}: at most one of `keyPair`, `privateJwk`, `persist`; none makes a new key held in
 * memory only.
 */
export interface CreateDpopOptions {
  /** Use this ECDSA P-256 key pair (its private key may be non-extractable). */
  readonly keyPair?: CryptoKeyPair;
  /**
   * Use this private P-256 key, e.g. one every process of a fleet reads from its secret store (see
   * {@link Dpop.exportPrivateJwk}). Whoever reads it can use the tokens bound to it: keep it as secret as the refresh
   * token.
   */
  readonly privateJwk?: JsonWebKey;
  /**
   * Keep the key in IndexedDB (browsers) as a non-extractable `CryptoKey`: a reload, and every tab of the origin,
   * signs with the same key; page script can sign with it but never read it.
   */
  readonly persist?: DpopPersistOptions;
  /**
   * Make (or import) the private key extractable, so that {@link Dpop.exportPrivateJwk} can hand it to other
   * processes. Any script that runs in the process can then copy the key and use the tokens from elsewhere: only
   * for server fleets that share tokens, never in a browser. Not with `keyPair` or `persist`.
   *
   * @default false
   */
  readonly extractable?: boolean;
}

/** A DPoP key and what it does: proofs, nonces, and the hooks `attachRefresh` and `refreshTokenGrant` call. */
export interface Dpop extends DpopHooks {
  /** RFC 7638 JWK SHA-256 thumbprint of the public key, base64url: the `dpop_jkt` of an authorization request. */
  readonly thumbprint: string;
  /** The public key, as put in every proof. */
  readonly publicJwk: DpopPublicJwk;
  /** The key pair that signs. */
  readonly keyPair: CryptoKeyPair;
  /**
   * Makes a fresh proof JWT (`typ: dpop+jwt`, ES256, a new `jti` every time), e.g. for the app's own login request.
   *
   * @throws TypeError when `method` or `url` is not usable.
   */
  proof(request: DpopProofRequest): Promise<string>;
  /** The latest `DPoP-Nonce` remembered for the URL's origin. */
  nonce(url: string | URL): string | undefined;
  /**
   * The private key as a JWK, to share it with other processes. Rejects with a `TypeError` unless the key was made
   * with `extractable: true`.
   */
  exportPrivateJwk(): Promise<JsonWebKey>;
  /**
   * With `persist`: reads the key stored under the name again and signs with it from now on, when another tab
   * replaced it (a logout with `deleteDpopKey` and a new login there). `thumbprint`, `publicJwk` and `keyPair` follow.
   * Every proof for a token request (no `accessToken`) does this first, so that a tab that kept the old key never
   * presents the new login's refresh token with it. Without `persist`, or when nothing is stored, nothing changes.
   *
   * @returns whether the key changed.
   */
  reload(): Promise<boolean>;
}

const STATE_KEY = 'axios-token-refresh';
const RETRIED = 'axios-token-refresh/dpop';
const DB = 'axios-token-refresh-dpop';
const STORE = 'dpop-keys';
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;
/** RFC 9110 §9.1: a method is a token. */
const METHOD = /^[!#$%&'*+\-.^_`|~\dA-Za-z]+$/;
/** RFC 9449 §8.1: `nonce = 1*NQCHAR` (visible ASCII but `"` and `\`); longer ones are not kept (a proof carries it). */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,1024}$/;

const isKeyPair = (value: unknown): value is CryptoKeyPair => {
  const pair = value as Partial<CryptoKeyPair> | null;
  const algorithm = pair?.privateKey?.algorithm as EcKeyAlgorithm | undefined;
  return (
    typeof pair === 'object' &&
    pair !== null &&
    pair.publicKey?.type === 'public' &&
    pair.privateKey?.type === 'private' &&
    algorithm?.name === 'ECDSA' &&
    algorithm.namedCurve === 'P-256'
  );
};

/** What `privateJwk` must be, when WebCrypto refuses one that passed the shape check. */
const PRIVATE_JWK_WHAT = 'a private P-256 JWK whose `x` and `y` are the public half of its `d`';

const rules: readonly Rule[] = [
  ['keyPair', 'an ECDSA P-256 CryptoKeyPair', isKeyPair],
  [
    'privateJwk',
    "a private P-256 JWK ({ kty: 'EC', crv: 'P-256', x, y, d })",
    (jwk) => {
      const key = jwk as Record<string, unknown> | null;
      return (
        typeof key === 'object' &&
        key !== null &&
        key['kty'] === 'EC' &&
        key['crv'] === 'P-256' &&
        ['x', 'y', 'd'].every((member) => typeof key[member] === 'string')
      );
    },
  ],
  [
    'persist',
    "an object with a non-empty `name`, e.g. { name: 'my-app' }",
    (persist) =>
      typeof (persist as { name?: unknown } | null)?.name === 'string' && (persist as { name: string }).name !== '',
  ],
  ['extractable', 'a boolean', isBoolean],
];

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);
const sha256 = async (text: string): Promise<string> =>
  base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(text))));

/** `htu`: the absolute URL without query and fragment (RFC 9449 §4.2). */
function target(url: string | URL): URL {
  let parsed: URL | undefined;
  try {
    // Relative URLs resolve as XHR and fetch resolve them: against the document's base URL (`<base href>`).
    const page = globalThis as { location?: { href?: string }; document?: { baseURI?: string } };
    parsed = new URL(url, page.document?.baseURI ?? page.location?.href);
  } catch {
    // reported below
  }
  if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new TypeError(expected('url', 'an absolute http(s) URL', url));
  }
  // RFC 9110 §4.2.4: userinfo is not part of the target (and a password must not go into every proof).
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  return parsed;
}

/**
 * The URL axios will request: `url` on `baseURL` unless `url` is absolute (and absolute URLs are allowed). Only its
 * origin is used (which nonce goes with a response); a proof's URL comes from axios's own `getUri`.
 */
function requestUrl(config: InternalAxiosRequestConfig): string {
  const url = config.url ?? '';
  const base = config.baseURL;
  if (!base || (ABSOLUTE.test(url) && config.allowAbsoluteUrls !== false)) return url;
  return url ? `${base.replace(/\/?\/$/, '')}/${url.replace(/^\/+/, '')}` : base;
}

function header(headers: unknown, name: string): unknown {
  const bag = headers as ({ get?: (name: string) => unknown } & Record<string, unknown>) | undefined;
  return typeof bag?.get === 'function' ? bag.get(name) : (bag?.[name] ?? bag?.[name.toLowerCase()]);
}

async function loadKeyPair(options: CreateDpopOptions): Promise<CryptoKeyPair> {
  const extractable = options.extractable ?? false;
  if (options.keyPair !== undefined) return options.keyPair;
  if (options.privateJwk !== undefined) {
    // Only the members that make the key: `key_ops`, `ext` or `alg` of the source must not veto the import.
    const { kty, crv, x, y, d } = options.privateJwk as Required<Pick<JsonWebKey, 'kty' | 'crv' | 'x' | 'y' | 'd'>>;
    try {
      const [privateKey, publicKey] = await Promise.all([
        crypto.subtle.importKey('jwk', { kty, crv, x, y, d }, ALGORITHM, extractable, ['sign']),
        crypto.subtle.importKey('jwk', { kty, crv, x, y }, ALGORITHM, true, ['verify']),
      ]);
      return { privateKey, publicKey };
    } catch (cause) {
      // WebCrypto's DataError says nothing about which option; the key itself is never shown.
      throw new TypeError(
        `${expected('privateJwk', PRIVATE_JWK_WHAT, options.privateJwk)}: WebCrypto refused to import it`,
        { cause },
      );
    }
  }
  const generate = (): Promise<CryptoKeyPair> => crypto.subtle.generateKey(ALGORITHM, extractable, ['sign', 'verify']);
  return options.persist === undefined
    ? generate()
    : (persisted(options.persist.name, generate) as Promise<CryptoKeyPair>);
}

/** Settles with an IndexedDB request's result. */
function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * The key stored under `name`, or `fresh` stored there if there is none (`fresh` undefined: only read): the read and
 * the add happen in one read-write transaction, which IndexedDB runs one at a time per store across tabs, so tabs that
 * start together end up with one key. A stored value that is not a key pair is an error, never replaced: tokens may
 * be bound to it.
 */
async function persisted(name: string, generate?: () => Promise<CryptoKeyPair>): Promise<CryptoKeyPair | undefined> {
  const db = await openDb();
  try {
    const fresh = await generate?.();
    return await new Promise<CryptoKeyPair | undefined>((resolve, reject) => {
      const transaction = db.transaction(STORE, fresh ? 'readwrite' : 'readonly');
      const store = transaction.objectStore(STORE);
      let result = fresh;
      const read = store.get(name);
      read.onsuccess = () => {
        if (read.result === undefined) {
          if (fresh) store.add(fresh, name);
        } else if (isKeyPair(read.result)) result = read.result;
        else transaction.abort();
      };
      transaction.oncomplete = () => resolve(result);
      transaction.onabort = () =>
        reject(
          transaction.error ??
            new Error(
              `The IndexedDB record \`${name}\` of database \`${DB}\` is not a DPoP key pair; ` +
                'delete it with deleteDpopKey() and log in again',
            ),
        );
    });
  } finally {
    db.close();
  }
}

async function openDb(): Promise<IDBDatabase> {
  const indexedDB = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (indexedDB === undefined) {
    throw new TypeError(
      'Expected IndexedDB for `persist` (a browser); in Node, share the key with `privateJwk` instead',
    );
  }
  const open = indexedDB.open(DB, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return done(open);
}

/**
 * Deletes a key kept with `persist`, e.g. on logout, so that the next login gets a new one. Tokens bound to it are
 * useless afterwards: call it only when they are gone too.
 *
 * @param name - the `persist.name` it was kept under.
 */
export async function deleteDpopKey(name: string): Promise<void> {
  const db = await openDb();
  try {
    await done(db.transaction(STORE, 'readwrite').objectStore(STORE).delete(name));
  } finally {
    db.close();
  }
}

/**
 * Creates the DPoP key of a session: pass it as `dpop` to `attachRefresh` (or `createTokenSession`) and to
 * `refreshTokenGrant`. Every request the plugin attaches a token to then carries `Authorization: DPoP <token>` and a
 * fresh proof; a `DPoP-Nonce` from any response is remembered per origin; a 401 with `DPoP error="use_dpop_nonce"`
 * is sent again once with the new nonce, without a refresh.
 *
 * @param options - see {@link CreateDpopOptions}. @default a new non-extractable key, in memory only
 * @throws TypeError when an option is invalid.
 * @example
 * ```ts
 * const dpop = await createDpop({ persist: { name: 'my-app' } });
 * ```
 */
export async function createDpop(options: CreateDpopOptions = {}): Promise<Dpop> {
  const given = checkDpopOptions(options);
  /** What proofs are signed with; replaced as a whole by `reload()`. */
  let key = await describeKey(await loadKeyPair(given));
  const nonces = new Map<string, string>();
  const name = given.persist?.name;

  const dpop: Dpop = {
    get thumbprint() {
      return key.thumbprint;
    },
    get publicJwk() {
      return key.publicJwk;
    },
    get keyPair() {
      return key.keyPair;
    },
    nonce: (url) => nonces.get(target(url).origin),
    rememberNonce(url, nonce) {
      if (typeof nonce === 'string' && NONCE.test(nonce)) nonces.set(target(url).origin, nonce);
    },
    async reload() {
      const stored = name === undefined ? undefined : await persisted(name);
      if (stored === undefined || stored.privateKey === key.keyPair.privateKey) return false;
      const next = await describeKey(stored);
      const changed = next.thumbprint !== key.thumbprint;
      key = next;
      return changed;
    },
    async proof(request) {
      checkObject(request);
      const { method } = checkOptions(request, proofRules);
      const { accessToken } = request;
      const htu = target(request.url);
      // A token request presents the refresh token (or a code): it must be signed with the key it is bound to.
      if (accessToken === undefined) await dpop.reload();
      const nonce = request.nonce ?? nonces.get(htu.origin);
      const claims = {
        jti: crypto.randomUUID(),
        htm: method.toUpperCase(),
        htu: htu.href,
        iat: Math.floor(Date.now() / 1000),
        ...(accessToken === undefined ? {} : { ath: await sha256(accessToken) }),
        ...(nonce === undefined ? {} : { nonce }),
      };
      return sign(key, claims);
    },
    async exportPrivateJwk() {
      if (!key.keyPair.privateKey.extractable) {
        throw new TypeError(
          'Expected a key made with `extractable: true` to export it; this one cannot leave its store',
        );
      }
      return crypto.subtle.exportKey('jwk', key.keyPair.privateKey);
    },
    install: (instance, resend) => install(dpop, instance, resend),
  };
  return dpop;
}

/** Checks the options and reads each once (see `readOptions` in src/validate.ts): what `createDpop` then uses. */
function checkDpopOptions(input: CreateDpopOptions): CreateDpopOptions {
  checkObject(input);
  const options = checkOptions(input, rules);
  const sources = (['keyPair', 'privateJwk', 'persist'] as const).filter((name) => options[name] !== undefined);
  if (sources.length > 1) {
    throw new TypeError(`Expected one of \`keyPair\`, \`privateJwk\`, \`persist\`, got ${sources.join(' and ')}`);
  }
  if (options.extractable !== undefined && (options.keyPair !== undefined || options.persist !== undefined)) {
    throw new TypeError('Expected `extractable` only for a new key or `privateJwk`, not with `keyPair` or `persist`');
  }
  return options;
}

/** A proof's check of its request (the rest is checked where it is read). */
const proofRules: readonly Rule[] = [
  ['method', "an HTTP method such as 'POST'", (method) => typeof method === 'string' && METHOD.test(method), true],
];

/** The compact JWS of `claims`, signed with the key. */
async function sign(key: Key, claims: object): Promise<string> {
  const input = `${key.header}.${base64url(utf8(JSON.stringify(claims)))}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.keyPair.privateKey, utf8(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

type Key = Awaited<ReturnType<typeof describeKey>>;

/** A key pair with what every proof repeats: its public JWK, its thumbprint and the encoded JWS header. */
async function describeKey(keyPair: CryptoKeyPair) {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
  const publicJwk = Object.freeze({ kty, crv, x, y }) as DpopPublicJwk;
  return {
    keyPair,
    publicJwk,
    // RFC 7638: the required members in lexicographic order, no whitespace.
    thumbprint: await sha256(JSON.stringify({ crv, kty, x, y })),
    header: base64url(utf8(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk }))),
  };
}

/**
 * The URL a response came from: after redirects, the last one (Node: follow-redirects' `responseUrl`; XHR:
 * `responseURL`), else the URL requested. Nonces are filed under its origin (RFC 9449 §8: a nonce is the server's).
 */
function answeredBy(response: AxiosResponse): string {
  const last = response.request as { responseURL?: unknown; res?: { responseUrl?: unknown } | null } | null | undefined;
  const url = last?.responseURL ?? last?.res?.responseUrl;
  const requested = requestUrl(response.config);
  // Resolved on the URL requested: a mock adapter reports a relative one.
  return typeof url === 'string' && url !== '' ? new URL(url, requested).href : requested;
}

/** Signs a request the plugin attached a token to: a proof for its method, URL and access token. */
async function signRequest(
  dpop: Dpop,
  instance: AxiosInstance,
  config: InternalAxiosRequestConfig,
): Promise<InternalAxiosRequestConfig> {
  const authorization = header(config.headers, 'Authorization');
  // Not attached by the plugin, or taken off by the send guard (the request left the scope): no proof.
  if (config[STATE_KEY]?.attached !== true || typeof authorization !== 'string') return config;
  if (!/^dpop /i.test(authorization)) {
    // Tokens that are not DPoP-bound would go out as bearer tokens beside a proof: a silent downgrade.
    throw new TokenRefreshError(
      'CONFIGURATION_ERROR',
      "Request not sent: the session has a DPoP key but its tokens are not DPoP-bound (`tokenType` is not 'DPoP'); " +
        'ask the server for DPoP tokens (a proof at the token request), or remove `dpop`',
      { config },
    );
  }
  const accessToken = authorization.slice(authorization.indexOf(' ') + 1);
  // axios's own join of baseURL and url (versions differ in the slashes they drop), as its adapters request it.
  const proof = await dpop.proof({ method: config.method ?? 'get', url: instance.getUri(config), accessToken });
  (config.headers as unknown as Record<string, unknown>)['DPoP'] = proof;
  return config;
}

/**
 * Remembers the response's nonce under the origin that answered; true when it had one from the origin the request
 * was sent to (only then does a new proof for that request carry it). Never throws: it runs on every response.
 */
function remember(dpop: Dpop, response: AxiosResponse | undefined): boolean {
  const nonce = header(response?.headers, 'DPoP-Nonce');
  if (response?.config === undefined || typeof nonce !== 'string' || nonce === '') return false;
  try {
    const from = target(answeredBy(response));
    dpop.rememberNonce(from, nonce);
    return dpop.nonce(from) === nonce && from.origin === target(requestUrl(response.config)).origin;
  } catch {
    return false;
  }
}

/** What a proof was made for: the method, the URL, the Authorization value and the origin's nonce. */
function proofFor(dpop: Dpop, instance: AxiosInstance, config: InternalAxiosRequestConfig): string {
  const url = instance.getUri(config);
  let nonce: string | undefined;
  try {
    nonce = dpop.nonce(url);
  } catch {
    // Not an http(s) URL: no nonce, and signRequest says what is wrong.
  }
  return `${(config.method ?? 'get').toUpperCase()} ${url} ${header(config.headers, 'Authorization')} ${nonce}`;
}

/**
 * Whether a `DPoP` header is a proof for an access token (`ath`) on a request that carries none: a proof made for an
 * earlier send, whose token was taken off (out of scope, after a logout), that no server can accept.
 */
function tokenless(proof: string, config: InternalAxiosRequestConfig): boolean {
  if (header(config.headers, 'Authorization') !== undefined) return false;
  try {
    const payload = proof.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return (JSON.parse(json) as { ath?: unknown } | null)?.ath !== undefined;
  } catch {
    return false;
  }
}

/** How many of its latest proofs the signer recognises as its own (a signature is 87 characters). */
const OURS_KEPT = 1024;

/** How old a proof made in the interceptor may be when its request is handed to the adapter, before it is made again. */
const PROOF_KEPT_MS = 1000;

/**
 * The signer's own proofs: `sign` makes a config's proof (and takes off a proof of ours from an earlier send of it),
 * remembering what it was made for; `fits` says whether the proof a config carries is still right for it as it is
 * now (the same method, URL, token and nonce, and made less than a second ago).
 */
function proofs(
  dpop: Dpop,
  instance: AxiosInstance,
): {
  sign: (config: InternalAxiosRequestConfig) => Promise<InternalAxiosRequestConfig>;
  fits: (config: InternalAxiosRequestConfig) => boolean;
} {
  const made = new WeakMap<object, readonly [what: string, at: number]>();
  /** The signatures of the latest proofs made here: a config sent again carries its old one (axios copies it). */
  const ours = new Set<string>();
  const sign = async (config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> => {
    const old = header(config.headers, 'DPoP');
    if (typeof old === 'string' && (ours.has(old.slice(old.lastIndexOf('.'))) || tokenless(old, config))) {
      // Our proof from an earlier send of this config (`api.request(error.config)` to a mirror, after a logout) does
      // not go out again; a `DPoP` header of the app's own (a request it signs itself) stays.
      deleteHeaders(config.headers, /^dpop$/i);
    }
    // Read before signing: a nonce that arrives meanwhile is not in this proof, and the adapter must see that.
    const what = proofFor(dpop, instance, config);
    await signRequest(dpop, instance, config);
    const proof = header(config.headers, 'DPoP');
    if (typeof proof !== 'string' || proof === old) return config;
    made.set(config, [what, Date.now()]);
    ours.add(proof.slice(proof.lastIndexOf('.')));
    if (ours.size > OURS_KEPT) ours.delete(ours.values().next().value as string);
    return config;
  };
  const fits = (config: InternalAxiosRequestConfig): boolean => {
    const last = made.get(config);
    return last !== undefined && last[0] === proofFor(dpop, instance, config) && Date.now() - last[1] < PROOF_KEPT_MS;
  };
  return { sign, fits };
}

/**
 * The request interceptor that signs, and a switch that turns the signing off (`detach()`). A proof is made in the
 * interceptor, and checked again when the request is handed to the adapter: the interceptors that run after it (the
 * app's, in either of axios's interceptor orders) may have changed the URL, the method or the token, or held the
 * request a while. Then it is made again, so that `htu`, `htm`, `ath` and `iat` are those of the request that goes
 * out. The check runs in a wrapper of the adapter, installed by the interceptor and again by the last
 * `transformRequest` step (after every interceptor and the send guard); the wrapper puts the app's adapter back first,
 * so that `error.config` and a resend see it. Only an interceptor that replaces both the adapter and `transformRequest`
 * afterwards leaves the interceptor's proof as it was.
 */
function signing(
  dpop: Dpop,
  instance: AxiosInstance,
): [
  interceptor: (config: InternalAxiosRequestConfig) => Promise<InternalAxiosRequestConfig>,
  stop: () => void,
  unwrap: (config: InternalAxiosRequestConfig | undefined) => void,
] {
  let active = true;
  /** Each wrapper's adapter: to put back on a config whose wrapper never ran (canceled, a transformer threw). */
  const wrapped = new WeakMap<object, InternalAxiosRequestConfig['adapter']>();
  const { sign, fits } = proofs(dpop, instance);
  const resolve = (axios as { getAdapter?: (adapter: unknown, config: unknown) => AxiosAdapter }).getAdapter;
  const wrap = (config: InternalAxiosRequestConfig): void => {
    const adapter = config.adapter ?? axios.defaults.adapter;
    const wrapper: AxiosAdapter = async (ready) => {
      if (adapter !== undefined) ready.adapter = adapter;
      // After detach(), a config sent again (error.config) is not the session's to sign.
      if (active && !fits(ready)) await sign(ready);
      return (resolve as NonNullable<typeof resolve>)(adapter, ready)(ready);
    };
    wrapped.set(wrapper, adapter);
    config.adapter = wrapper;
  };
  const wrapLast = lastTransform(function (this: InternalAxiosRequestConfig, data) {
    wrap(this);
    return data as unknown;
  });
  const interceptor = (config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> => {
    // axios before 1.5.1 has no getAdapter: the interceptor's proof is the only one.
    if (typeof resolve === 'function') {
      // Wrapped now, and again by the last transformRequest step: an interceptor that replaces one of the two
      // (an adapter per route, a serializer of its own) leaves the other.
      wrap(config);
      wrapLast(config);
    }
    return sign(config);
  };
  const unwrap = (config: InternalAxiosRequestConfig | undefined): void => {
    while (config?.adapter !== undefined && wrapped.has(config.adapter as object)) {
      const adapter = wrapped.get(config.adapter as object);
      if (adapter === undefined) delete config.adapter;
      else config.adapter = adapter;
    }
  };
  return [interceptor, () => (active = false), unwrap];
}

function install(dpop: Dpop, instance: AxiosInstance, resend: DpopResend): () => void {
  // Runs before the plugin's response interceptor (response interceptors run first-registered-first).
  const [sign, stopSigning, unwrap] = signing(dpop, instance);
  const onError = (error: AxiosError): Promise<AxiosResponse> => {
    const { response, config } = error ?? {};
    unwrap(config);
    const state = config?.[STATE_KEY];
    if (
      remember(dpop, response) &&
      config !== undefined &&
      response?.status === 401 &&
      state?.attached === true &&
      config[RETRIED] !== state.version &&
      /^"?use_dpop_nonce"?$/.test(challengeError(header(response.headers, 'WWW-Authenticate'), 'dpop') ?? '')
    ) {
      config[RETRIED] = state.version;
      // Through the core: a body that was a stream is gone, and must fail rather than go out again empty.
      return resend(error, config, 'with the new DPoP nonce');
    }
    return Promise.reject(error);
  };
  const requestId = instance.interceptors.request.use(sign);
  const responseId = instance.interceptors.response.use((response) => {
    remember(dpop, response);
    return response;
  }, onError);
  return () => {
    stopSigning();
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}
