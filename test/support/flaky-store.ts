import { MemoryTokenStore } from '../../src/index.js';
import type { TokenStore } from '../../src/index.js';

/**
 * A store several sessions share (processes, in effect) whose writes throw while `down` is set: a Redis blip or
 * failover, for the write-back tests.
 */
export function flakyStore(): { store: TokenStore; inner: MemoryTokenStore; setDown(down: boolean): void } {
  const inner = new MemoryTokenStore();
  let down = false;
  const store: TokenStore = {
    read: () => inner.read(),
    write: async (tokens, expectedVersion, ended) => {
      if (down) throw new Error('ECONNRESET');
      return inner.write(tokens, expectedVersion, ended);
    },
    withLock: (task, options) => inner.withLock(task, options),
  };
  return { store, inner, setDown: (value) => (down = value) };
}
