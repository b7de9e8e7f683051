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
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
