/**
 * Deletes every header whose name `names` matches, in any spelling: axios files a header under the spelling it was
 * first given (the app's `AUTHORIZATION` may sit beside our `Authorization`), and AxiosHeaders#delete or a plain
 * `delete` removes one spelling only. Works on AxiosHeaders (its headers are own properties) and on plain objects (a
 * redirect's Node options). @internal
 *
 * @param headers - the headers to change in place.
 * @param names - a case-insensitive pattern of whole header names, e.g. `/^(authorization|dpop)$/i`.
 */
export function deleteHeaders(headers: object, names: RegExp): void {
  const all = headers as Record<string, unknown>;
  for (const name of Object.keys(all)) if (names.test(name)) delete all[name];
}
