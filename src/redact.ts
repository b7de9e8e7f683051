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

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

/** Depth beyond which nothing is copied (an error's config is a few levels deep; sockets and agents are deeper). */
const MAX_DEPTH = 8;

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
  found.add(JSON.stringify(secret).slice(1, -1));
  return [...found].filter((text) => text.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * A copy of `value` with every occurrence of the secrets replaced by `[REDACTED]`, or `value` itself when there is
 * nothing to scrub. Errors keep their class, own non-enumerable `message`/`stack`/`cause`; objects keep their
 * prototype; a Node `request` object (sockets, raw headers) is left out, as the plugin does for its own errors.
 *
 * @param value - anything thrown or kept as a cause.
 * @param secrets - the values to remove (tokens); empty and undefined entries are ignored.
 */
export function scrubSecrets<T>(value: T, secrets: readonly (string | undefined)[]): T {
  const patterns = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 4);
  if (patterns.length === 0) return value;
  const texts = patterns.flatMap(spellings);
  const scrubText = (text: string): string => {
    let result = text;
    for (const secret of texts) if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    return result;
  };
  const seen = new Map<object, unknown>();
  const copy = (input: unknown, depth: number): unknown => {
    if (typeof input === 'string') return scrubText(input);
    if (typeof input !== 'object' || input === null) return input;
    if (seen.has(input)) return seen.get(input);
    if (depth > MAX_DEPTH || ArrayBuffer.isView(input) || input instanceof ArrayBuffer) return input;
    if (Array.isArray(input)) {
      const array: unknown[] = [];
      seen.set(input, array);
      for (const item of input) array.push(copy(item, depth + 1));
      return array;
    }
    if (input instanceof URLSearchParams) return new URLSearchParams(scrubText(input.toString()));
    if (input instanceof Map || input instanceof Set || input instanceof Date || input instanceof RegExp) return input;
    const output = Object.create(Object.getPrototypeOf(input) as object | null) as Record<PropertyKey, unknown>;
    seen.set(input, output);
    for (const key of Reflect.ownKeys(input)) {
      if (key === 'request' || key === 'socket' || key === '_currentRequest') continue;
      const descriptor = Object.getOwnPropertyDescriptor(input, key);
      if (descriptor === undefined) continue;
      if ('value' in descriptor) descriptor.value = copy(descriptor.value, depth + 1);
      else if (descriptor.get !== undefined) continue;
      Object.defineProperty(output, key, { ...descriptor, configurable: true });
    }
    return output;
  };
  return copy(value, 0) as T;
}
