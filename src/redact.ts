/**
 * Scrubbing known secrets out of errors the app's own code threw (a custom `refresh`, `onTokens`, the `tokens`
 * loader) before the session hands them back as `cause`. The typical case is an AxiosError from
 * `axios.post('/token', { refresh_token })`: its `config.data`, `config.url`, `config.params` and headers hold the
 * refresh token, and `console.log(error)`, `JSON.stringify(error)` or `error.toJSON()` would print it.
 *
 * The session knows the secrets (the tokens it refreshed with), so it replaces every occurrence of them, in the
 * spellings they take on the wire (as is, URL-encoded, form-encoded, JSON-escaped), with `[REDACTED]`. The app's own
 * objects are never changed: the result is a copy with the same prototypes, so `instanceof`, `isAxiosError`,
 * `toJSON()` and the class's own methods keep working on it.
 */

import { MARK } from './errors.js';

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

/** Depth beyond which nothing is copied: what lies deeper is replaced by a marker, never passed through. */
const MAX_DEPTH = 10;

/**
 * The spellings a secret takes in a message or a request body.
 *
 * @param secret - a token.
 */
function spellings(secret: string): string[] {
  const found = new Set<string>([secret]);
  const encoded = encodeURIComponent(secret);
  found.add(encoded);
  found.add(encoded.replace(/%20/g, '+'));
  // URLSearchParams (a form body) encodes `!'()~` too.
  found.add(new URLSearchParams([['', secret]]).toString().slice(1));
  found.add(JSON.stringify(secret).slice(1, -1));
  return [...found].filter((text) => text.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * How an object is copied. `class`: with its prototype, as is (plain objects, built-in errors, axios's and this
 * package's errors: their methods need nothing beyond their own properties). `error`: an app's own error class, with
 * its prototype (so `instanceof` holds) but own `toJSON` and `toString` that print the copy, since the class's methods
 * may read private fields the copy cannot have. `summary`: anything else (a fetch `Response`, a `URL`) becomes a plain
 * object of its readable data, so that printing it never runs code that needs the original.
 */
function copyKind(value: object): 'class' | 'error' | 'summary' {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null || proto === Error.prototype) return 'class';
  const record = value as Record<PropertyKey, unknown>;
  if (record['isAxiosError'] === true || record[MARK] === true) {
    return 'class';
  }
  if (!(value instanceof Error)) return 'summary';
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  const builtin = typeof name === 'string' ? (globalThis as Record<string, unknown>)[name] : undefined;
  return typeof builtin === 'function' && builtin.prototype === proto ? 'class' : 'error';
}

/**
 * A copy of `value` with every occurrence of the secrets replaced by `[REDACTED]`, or `value` itself when none occurs
 * in it (and it holds no Node request object, which is left out unscanned). Plain objects, arrays, maps, sets,
 * built-in errors and axios errors are copied with their shape and prototype (so `isAxiosError` and `toJSON()` keep
 * working); an app's own error class keeps its prototype (so `instanceof` holds) with its own `toJSON`/`toString`;
 * any other class instance (a fetch `Response`, a `URL`) becomes a plain object of its readable data, named by its
 * class, so that printing it never runs code that needs the original. A Node `request`/socket is left out, as the
 * plugin does for its own errors. Nothing deeper than a few levels is kept.
 *
 * @param value - anything thrown or kept as a cause.
 * @param secrets - the values to remove (tokens); empty and undefined entries are ignored.
 */
export function scrubSecrets<T>(value: T, secrets: readonly (string | undefined)[]): T {
  const patterns = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 4);
  if (patterns.length === 0) return value;
  const scrubber = new Scrubber(patterns.flatMap(spellings));
  let result: unknown;
  try {
    result = scrubber.copy(value, 0);
  } catch {
    // Something in it cannot be read (a revoked Proxy, a trap that throws): what cannot be checked is not kept.
    return new Error(UNREADABLE) as T;
  }
  // When nothing was replaced or left out, the original is handed back (its identity and methods intact).
  return scrubber.changed ? (result as T) : value;
}

/** What stands for a value the scrubber could not read through. */
const UNREADABLE = '[removed: a value that could not be read safely]';

/** Keys left out unscanned: a Node request or socket (raw headers, the token) and nothing a handler needs. */
const SKIPPED = new Set<PropertyKey>(['request', 'socket', '_currentRequest']);

/** What a fetch Response, a URL and similar objects are known by, read through their getters for a summary. */
const SUMMARY_KEYS = ['name', 'message', 'status', 'statusText', 'url', 'href', 'code'] as const;

/** One scrub: the spellings to remove, the copies made so far (cycles), and whether anything changed. */
class Scrubber {
  changed = false;
  readonly #texts: readonly string[];
  readonly #seen = new Map<object, unknown>();

  constructor(texts: readonly string[]) {
    this.#texts = texts;
  }

  /** Bytes as text, and the secrets' UTF-8 bytes spelt so: made on the first byte view scrubbed. */
  #codec: ByteText | undefined;
  #byteTexts: readonly string[] | undefined;

  text(input: string): string {
    return this.#replace(input, this.#texts);
  }

  #replace(input: string, texts: readonly string[]): string {
    let result = input;
    for (const secret of texts) {
      if (!result.includes(secret)) continue;
      result = result.split(secret).join(REDACTED);
      this.changed = true;
    }
    return result;
  }

  copy(input: unknown, depth: number): unknown {
    if (typeof input === 'string') return this.text(input);
    if (typeof input !== 'object' || input === null) return input;
    if (this.#seen.has(input)) return this.#seen.get(input);
    if (depth > MAX_DEPTH) {
      this.changed = true;
      return '[deeper levels removed]';
    }
    if (ArrayBuffer.isView(input) || input instanceof ArrayBuffer) return this.#bytes(input);
    if (input instanceof Date) return input;
    if (Array.isArray(input) || input instanceof Map || input instanceof Set) return this.#collection(input, depth);
    return this.#object(input, depth);
  }

  /**
   * Bytes (a request body kept as a `Buffer`): as is, or a copy with the secrets' UTF-8 bytes replaced when one is in
   * them. The bytes around a secret (not UTF-8, say) come back as they were; a `Buffer` stays a `Buffer` (other views
   * become a `Uint8Array`). A detached buffer holds nothing.
   */
  #bytes(input: ArrayBufferView | ArrayBuffer): unknown {
    let bytes: Uint8Array;
    try {
      bytes = ArrayBuffer.isView(input)
        ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
        : new Uint8Array(input);
    } catch {
      return input;
    }
    this.#codec ??= byteText();
    const codec = this.#codec;
    const encoder = new TextEncoder();
    this.#byteTexts ??= this.#texts.map((secret) => codec.decode(encoder.encode(secret)));
    const text = codec.decode(bytes);
    const result = this.#replace(text, this.#byteTexts);
    if (result === text) return input;
    const copy = codec.encode(result);
    if (input instanceof Uint8Array) Object.setPrototypeOf(copy, Object.getPrototypeOf(input) as object);
    return copy;
  }

  #collection(input: unknown[] | Map<unknown, unknown> | Set<unknown>, depth: number): unknown {
    const next = depth + 1;
    if (Array.isArray(input)) {
      const array: unknown[] = [];
      this.#seen.set(input, array);
      for (const item of input) array.push(this.copy(item, next));
      return array;
    }
    if (input instanceof Map) {
      const map = new Map<unknown, unknown>();
      this.#seen.set(input, map);
      for (const [key, item] of input) map.set(this.copy(key, next), this.copy(item, next));
      return map;
    }
    const set = new Set<unknown>();
    this.#seen.set(input, set);
    for (const item of input) set.add(this.copy(item, next));
    return set;
  }

  #object(input: object, depth: number): object {
    const kind = copyKind(input);
    const keepClass = kind !== 'summary';
    const output = (keepClass ? Object.create(Object.getPrototypeOf(input) as object | null) : {}) as Record<
      PropertyKey,
      unknown
    >;
    this.#seen.set(input, output);
    if (kind === 'error') withPrintingMethods(output);
    if (kind === 'summary') this.#summarize(input, output, depth);
    for (const key of Reflect.ownKeys(input)) {
      if (SKIPPED.has(key)) {
        this.changed = true;
        continue;
      }
      const descriptor = ownDescriptor(input, key);
      if (descriptor === undefined) continue;
      if (!('value' in descriptor)) {
        // An own getter may return anything, a token too: left out.
        this.changed = true;
        continue;
      }
      if (!keepClass && !descriptor.enumerable && key !== 'stack' && key !== 'cause') continue;
      descriptor.value = this.copy(descriptor.value, depth + 1);
      Object.defineProperty(output, key, { ...descriptor, configurable: true, writable: true });
    }
    return output;
  }

  #summarize(input: object, output: Record<PropertyKey, unknown>, depth: number): void {
    // What the original holds in internal slots is not in the summary: the original is never handed back.
    this.changed = true;
    const name = (Object.getPrototypeOf(input) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    output['type'] = typeof name === 'string' ? name : 'Object';
    if (isEntries(input)) {
      // `Headers`, `URLSearchParams`, `FormData`: a request's headers and body, kept by a fetch-based refresh.
      try {
        output['entries'] = this.copy([...input.entries()], depth + 1);
      } catch {
        // An iterator that throws tells us nothing.
      }
    }
    for (const key of SUMMARY_KEYS) {
      try {
        const data: unknown = (input as Record<string, unknown>)[key];
        if (typeof data === 'string' || typeof data === 'number') output[key] = this.copy(data, depth + 1);
      } catch {
        // A getter that throws tells us nothing.
      }
    }
  }
}

/** Bytes as text with one character per byte (so that a secret's UTF-8 bytes are found as a string), and back. */
interface ByteText {
  decode(bytes: Uint8Array): string;
  encode(text: string): Uint8Array;
}

/**
 * Decodes every byte as one character: windows-1252, natively, where the runtime has it (not Node built with
 * small-icu), whose 256 characters are all different; else one `String.fromCharCode` per byte.
 */
function byteText(): ByteText {
  let decode: ByteText['decode'];
  try {
    const decoder = new TextDecoder('windows-1252');
    decode = (bytes) => decoder.decode(bytes);
  } catch {
    decode = (bytes) => {
      let text = '';
      for (let at = 0; at < bytes.length; at += 0x8000) text += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
      return text;
    };
  }
  const byteOf = new Map<string, number>();
  for (let byte = 0; byte < 256; byte += 1) byteOf.set(decode(Uint8Array.of(byte)), byte);
  return { decode, encode: (text) => Uint8Array.from(text, (char) => byteOf.get(char) ?? 0) };
}

/** A fetch `Headers`, a `URLSearchParams` or a `FormData`: name and value pairs read through `entries()`. */
function isEntries(input: object): input is { entries(): Iterable<[string, unknown]> } {
  return ['Headers', 'URLSearchParams', 'FormData'].some((name) => {
    const type = (globalThis as Record<string, unknown>)[name];
    return typeof type === 'function' && input instanceof type;
  });
}

/**
 * A property's descriptor, or `undefined` when reading it throws. `stack` comes as data: V8 makes it an own getter on
 * Node 22 and later, whose text is kept (and scrubbed); it formats the stack on first read, which throws for an error
 * whose `name` is a Symbol.
 */
function ownDescriptor(input: object, key: PropertyKey): PropertyDescriptor | undefined {
  try {
    const descriptor = Object.getOwnPropertyDescriptor(input, key);
    if (key !== 'stack' || descriptor === undefined || 'value' in descriptor) return descriptor;
    const stack: unknown = (input as { stack?: unknown }).stack;
    return typeof stack === 'string' ? { value: stack, enumerable: descriptor.enumerable === true } : undefined;
  } catch {
    return undefined;
  }
}

/** Gives a copy of an app's error class own `toJSON`/`toString` that print the copy (its class's may need privates). */
function withPrintingMethods(output: Record<PropertyKey, unknown>): void {
  const plain = (): Record<string, unknown> => ({ name: output['name'], message: output['message'], ...output });
  const text = (): string => `${String(output['name'])}: ${String(output['message'])}`;
  Object.defineProperty(output, 'toJSON', { value: plain, configurable: true, writable: true });
  Object.defineProperty(output, 'toString', { value: text, configurable: true, writable: true });
}

/**
 * The token a request carries in its `Authorization` header, if any: to keep out of what an app callback threw.
 *
 * @param config - a request config (its headers may be AxiosHeaders or a plain object).
 */
export function sentToken(config: { readonly headers?: unknown } | undefined): string | undefined {
  const sent = (config?.headers as Record<string, unknown> | undefined)?.['Authorization'];
  return typeof sent === 'string' ? sent.slice(sent.indexOf(' ') + 1) : undefined;
}
