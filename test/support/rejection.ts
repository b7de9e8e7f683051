import { isTokenRefreshError, type TokenRefreshError } from '../../src/index.js';

/** Awaits a request that must fail with a TokenRefreshError, and returns that error (anything else fails the test). */
export async function rejection(promise: Promise<unknown>): Promise<TokenRefreshError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTokenRefreshError(error)) throw new Error(`expected a TokenRefreshError, got ${String(error)}`);
  return error;
}
