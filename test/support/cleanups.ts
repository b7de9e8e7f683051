import { afterEach } from 'vitest';

/**
 * Registers an `afterEach` that runs what each test deferred, last first; a cleanup that fails does not stop the
 * others. Returns the function that defers one.
 */
export function cleanupAfterEach(): (cleanup: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined);
    }
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}
