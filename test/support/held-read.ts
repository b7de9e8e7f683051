/**
 * Holds one read of a file mid-way, to force an interleaving with the file store: the next `open` of the path gets a
 * handle whose `close()` (the read is done by then) waits until released. Use it through `vi.mock`:
 *
 * ```ts
 * vi.mock('node:fs/promises', async (importOriginal) =>
 *   (await import('./support/held-read.js')).withHeldReads(await importOriginal()),
 * );
 * ```
 */
type FsPromises = typeof import('node:fs/promises');

const next: { path: string; started?: () => void; gate?: Promise<void> | undefined } = { path: '' };

/** `node:fs/promises` with an `open` that holds the read {@link holdNextRead} asked for. */
export function withHeldReads(real: FsPromises): FsPromises {
  const open: FsPromises['open'] = async (...args) => {
    const handle = await real.open(...args);
    const gate = next.gate;
    if (args[0] !== next.path || gate === undefined) return handle;
    next.gate = undefined;
    const close = handle.close.bind(handle);
    handle.close = async () => {
      next.started?.();
      await gate;
      return close();
    };
    return handle;
  };
  return { ...real, open, default: { ...real, open } } as FsPromises;
}

/**
 * Holds the next read of `path`. `held` resolves once that read has the file's contents and waits; `release` lets it
 * finish.
 */
export function holdNextRead(path: string): { held: Promise<void>; release: () => void } {
  let release!: () => void;
  const held = new Promise<void>((started) => {
    next.path = path;
    next.started = started;
    next.gate = new Promise<void>((done) => (release = done));
  });
  return { held, release: () => release() };
}
