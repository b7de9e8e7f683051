/**
 * The one policy for errors thrown by the app's own callbacks (event listeners, the `debug` hook, a store's
 * subscribers): they never become an uncaught exception or an unhandled rejection, never stop the refresh or the other
 * listeners, and are never swallowed. They go to the `debug` hook when one is set (as a `listener:error` event);
 * otherwise, or when the hook itself throws, to the platform's own channel for "something went wrong but nothing
 * crashed": `process.emitWarning` in Node (printed to stderr, `process.on('warning')` to observe), `reportError` in a
 * browser (the console and `window.onerror`). The warning names the callback and the error's class, never its message,
 * which may quote a token; the error, scrubbed of the tokens the caller knows, is its `cause`.
 */

import { describeThrown } from './errors.js';
import { scrubSecrets } from './redact.js';

/** Name of the warnings this package emits through `process.emitWarning`. */
export const WARNING_NAME = 'TokenRefreshWarning';

/**
 * Calls an app callback so that nothing it does escapes into the caller: what it throws, or what its promise rejects
 * with (an async callback), goes to `failed`, never up the stack and never unhandled.
 *
 * @param callback - the app's function.
 * @param value - what it is called with.
 * @param failed - what to do with its error; must not throw.
 */
export function callApp<V>(callback: (value: V) => unknown, value: V, failed: (error: unknown) => void): void {
  try {
    const returned = callback(value) as PromiseLike<unknown> | null | undefined;
    // Any thenable: a promise from another realm (an iframe, `vm`) is no `instanceof Promise` here.
    if (typeof returned?.then === 'function') Promise.resolve(returned).then(undefined, failed);
  } catch (error) {
    failed(error);
  }
}

/**
 * Reports an error thrown by an app callback where a developer can see it, without throwing.
 *
 * @param where - which callback threw, e.g. `a 'tokens' listener`.
 * @param error - what it threw.
 */
export function warnCallbackError(where: string, error: unknown): void {
  const warning = new Error(
    `axios-token-refresh: ${where} threw ${describeThrown(error)}; the session carries on. See \`cause\`.`,
    { cause: error },
  );
  warning.name = WARNING_NAME;
  emitWarning(warning);
}

/**
 * Hands an error to the platform's channel for "went wrong, nothing crashed": `process.emitWarning` in Node,
 * `reportError` in a browser. Never throws.
 *
 * @param warning - what to report; its message must hold no secret.
 */
export function emitWarning(warning: Error): void {
  try {
    const processLike = (globalThis as { process?: { emitWarning?: (warning: Error) => void } }).process;
    if (typeof processLike?.emitWarning === 'function') {
      processLike.emitWarning(warning);
      return;
    }
    const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
    if (typeof report === 'function') report(warning);
  } catch {
    // Reporting must never throw into the session or a store.
  }
}

/** The app predicates already warned about answering with a promise. */
const warnedAsync = new WeakSet<object>();

/**
 * Asks an app predicate (`allowedOrigins`, `shouldRefresh`) that must answer at once. One that throws is a no,
 * reported without `secrets`. A promise (an async function) would be truthy whatever it resolves to: it is a no, said
 * once per function, and its rejection is handled.
 *
 * @param predicate - the app's function.
 * @param args - what it is called with.
 * @param where - names it in warnings, e.g. ``the `shouldRefresh` function``.
 * @param instead - what the plugin did instead, for the warning, e.g. `No token was sent.`
 * @param secrets - tokens to keep out of the reported error.
 */
export function askApp<A extends unknown[]>(
  predicate: (...args: A) => unknown,
  args: A,
  where: string,
  instead: string,
  secrets: readonly (string | undefined)[],
): unknown {
  let answer: unknown;
  try {
    answer = predicate(...args);
  } catch (error) {
    warnCallbackError(where, scrubSecrets(error, secrets));
    return false;
  }
  if (typeof (answer as PromiseLike<unknown> | null)?.then !== 'function') return answer;
  Promise.resolve(answer).then(undefined, () => undefined);
  if (!warnedAsync.has(predicate)) {
    warnedAsync.add(predicate);
    emitWarning(
      new TypeError(
        `axios-token-refresh: ${where} returned a promise; it must answer \`true\` or \`false\` at once (an async ` +
          `function cannot). ${instead}`,
      ),
    );
  }
  return false;
}
