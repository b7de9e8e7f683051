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
  if (typeof value === 'boolean' || value === undefined) return `\`${String(value)}\``;
  return `a value of type ${typeof value}`;
}

/**
 * The message of the template.
 *
 * @param name - the option, argument or member, as the user spells it.
 * @param what - what it must be, e.g. `a finite number >= 0`.
 * @param value - what it is.
 */
export function expected(name: string, what: string, value: unknown): string {
  return `Expected \`${name}\` to be ${what}, got ${describe(value)}`;
}

/** One option's check: its name, what it must be (for the message), the test, and whether it may be left out. */
export type Rule = readonly [name: string, what: string, ok: (value: unknown) => boolean, required?: boolean];

/** Checks the given options against the rules in order; throws a `TypeError` for the first one broken. */
export function checkOptions(options: object, rules: readonly Rule[]): void {
  for (const [name, what, ok, required] of rules) {
    const value = (options as Record<string, unknown>)[name];
    if ((required || value !== undefined) && !ok(value)) throw new TypeError(expected(name, what, value));
  }
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
