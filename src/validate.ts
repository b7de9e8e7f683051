/**
 * The package's one message template for bad input, ``Expected `name` to be what, got `-1` (number)``, and the option
 * checks built on it. Values are described by type, never printed: an option or a token set may hold a secret.
 */

/** Describes a value for an error message without ever printing its content (it may be a token). */
export function describe(value: unknown): string {
  if (value === null) return '`null`';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (typeof value === 'number') return `\`${value}\` (number)`;
  if (typeof value === 'boolean' || value === undefined) return `\`${value}\``;
  return `a value of type ${typeof value}`;
}

/** Describes a value that may be a secret even when of the wrong type (a number): as {@link describe}, type only. */
export function describeSecret(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? `a value of type ${typeof value}` : describe(value);
}

/**
 * Describes a value known to hold no secret (a URL, a client id, an enum option): as {@link describe}, but a string
 * is quoted, made {@link printable}.
 */
export function show(value: unknown): string {
  return typeof value === 'string' && value !== '' ? `\`${printable(value)}\` (string)` : describe(value);
}

/**
 * Keeps text from elsewhere (a server's answer, an option) printable and short, so it cannot forge log lines.
 *
 * @param text - the text.
 */
export function printable(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

/**
 * The message of the template.
 *
 * @param name - the option, argument or member, as the user spells it.
 * @param what - what it must be, e.g. `a finite number >= 0`.
 * @param value - what it is.
 * @param described - how to describe it: {@link describe} (the type only), or {@link show} for a value with no secret.
 */
export function expected(name: string, what: string, value: unknown, described = describe): string {
  return `Expected \`${name}\` to be ${what}, got ${described(value)}`;
}

/** One option's check: its name, what it must be (for the message), the test, and whether it may be left out. */
export type Rule = readonly [name: string, what: string, ok: (value: unknown) => boolean, required?: boolean];

/**
 * Checks the given options against the rules in order; throws a `TypeError` for the first one broken.
 *
 * @param options - the options.
 * @param rules - the checks, in order.
 * @param described - how a bad value is described: {@link describe}, or {@link show} when no option checked holds a
 *   secret.
 */
export function checkOptions<O extends object>(options: O, rules: readonly Rule[], described = describe): O {
  const given = readNamed(
    options,
    rules.map(([name]) => name),
  );
  for (const [name, what, ok, required] of rules) {
    const value = given[name];
    if ((required || value !== undefined) && !ok(value)) throw new TypeError(expected(name, what, value, described));
  }
  return given as O;
}

/** Nothing when `N` names every key of `O`; otherwise a member naming what is missing, so that the call fails to compile. */
type ListsEvery<O, N extends readonly PropertyKey[]> = [Exclude<keyof O, N[number]>] extends [never]
  ? unknown
  : { readonly 'options missing from the list': Exclude<keyof O, N[number]> };

/**
 * The named options, each read exactly once, by name, into a plain object that the checks and the factory then share.
 * An option from a getter, a prototype (an app's own config class) or a Proxy counts as when read directly, and a
 * getter cannot answer one thing to a check and another to the code.
 *
 * @param options - the options as given.
 * @param names - every option the factory knows. Given as a literal list, one that misses an option of `O` does not
 *   compile (an option left out would never be read).
 */
export function readOptions<O extends object, const N extends readonly (keyof O & string)[]>(
  options: O,
  names: N & ListsEvery<O, N>,
): O {
  return readNamed(options, names) as O;
}

function readNamed(options: object, names: readonly string[]): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const name of names) given[name] = (options as Record<string, unknown>)[name];
  return given;
}

/**
 * The options over the factory's one defaults object, merged once: an option left out (or `undefined`, or `null`, as
 * with `??`) takes its default. Give it what {@link checkOptions} or {@link readOptions} returned, so that each option
 * is read once.
 *
 * @param defaults - the factory's defaults.
 * @param options - the options, as read.
 */
export function withDefaults<D extends object, O extends object>(defaults: D, options: O): D & O {
  const merged = { ...options } as Record<string, unknown>;
  for (const [name, value] of Object.entries(defaults)) merged[name] ??= value;
  return merged as D & O;
}

/** Throws the template's `TypeError` unless `options` is a non-null object (the argument of every factory). */
export function checkObject(options: unknown): asserts options is object {
  if (typeof options !== 'object' || options === null) throw new TypeError(expected('options', 'an object', options));
}

/** A function. */
export const isFunction = (value: unknown): boolean => typeof value === 'function';

/** A boolean. */
export const isBoolean = (value: unknown): boolean => typeof value === 'boolean';

/** A finite number of at least `minimum`, or above it when `exclusive`. */
export const isNumberFrom =
  (minimum: number, exclusive = false) =>
  (value: unknown): boolean =>
    typeof value === 'number' && Number.isFinite(value) && (exclusive ? value > minimum : value >= minimum);

/** An integer >= 0. */
export const isCount = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 0;

/** A string that is not empty. */
export const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** A {@link Rule}'s `what` and test for a value from a fixed list, e.g. ``one of 'raw', 'form-urlencoded'``. */
export const oneOf = (choices: readonly string[]): [what: string, ok: (value: unknown) => boolean] => [
  `one of ${choices.map((choice) => `'${choice}'`).join(', ')}`,
  (value) => choices.includes(value as string),
];
