import type { LockOptions } from './store.js';
import { expected } from './validate.js';

/**
 * Checks the options a session passes to a shared store's `withLock`, all at once, with the package's message
 * template (a store given bad options would otherwise hold a lock forever or never wait).
 *
 * @param options - what `withLock` received.
 */
export function checkLockOptions(options: LockOptions): void {
  const problems: string[] = [];
  for (const name of ['leaseMs', 'waitMs'] as const) {
    const value: unknown = options?.[name];
    const minimum = name === 'leaseMs' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum) {
      problems.push(expected(name, `a finite number >= ${minimum}`, value));
    }
  }
  if (problems.length > 0) throw new TypeError(problems.join('; '));
}
