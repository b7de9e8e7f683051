/**
 * The package's one way to bound a wait: `promise`, or `onTimeout()`'s error after `ms` milliseconds, whichever comes
 * first. The timer is cleared as soon as the promise settles, so nothing keeps a process alive.
 *
 * @param promise - what to wait for.
 * @param ms - the deadline, in milliseconds.
 * @param onTimeout - makes the error to reject with (called only on time-out).
 */
export function within<T>(promise: T | Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // Clamped to what setTimeout can hold: a longer delay would fire at once.
    timer = setTimeout(() => reject(onTimeout()), Math.min(Math.max(ms, 0), 2_147_483_647));
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
