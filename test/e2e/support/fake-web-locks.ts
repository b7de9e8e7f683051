/**
 * An in-process model of the Web Locks API (exclusive and shared modes, grant order, `signal`, `query`) with one
 * LockManager view per simulated tab, so the browser store's cross-tab logic can be unit-tested in Node. Closing a
 * tab frees its locks, as a browser does. The real thing is tested in Chromium by test/e2e/browser.e2e.test.ts.
 */
interface Request {
  readonly name: string;
  readonly mode: LockMode;
  readonly clientId: string;
  readonly grant: () => void;
  released?: () => void;
}

export class FakeLockRegistry {
  readonly #held: Request[] = [];
  readonly #pending: Request[] = [];

  /** A `navigator.locks` for one tab; `close()` frees what that tab holds and forgets what it waits for. */
  tab(clientId: string): LockManager & { close(): void } {
    const closed = { value: false };
    const manager = {
      request: <T>(
        name: string,
        optionsOrCallback: LockOptions | ((lock: Lock | null) => T),
        maybeCallback?: (lock: Lock | null) => T,
      ): Promise<Awaited<T>> => {
        const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
        const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback)!;
        return this.#request(name, options, callback, clientId, closed);
      },
      query: async (): Promise<LockManagerSnapshot> => ({
        held: this.#held.map(({ name, mode, clientId: id }) => ({ name, mode, clientId: id })),
        pending: this.#pending.map(({ name, mode, clientId: id }) => ({ name, mode, clientId: id })),
      }),
      close: () => {
        closed.value = true;
        for (const request of [...this.#held]) if (request.clientId === clientId) request.released?.();
        for (const request of [...this.#pending]) {
          if (request.clientId === clientId) this.#pending.splice(this.#pending.indexOf(request), 1);
        }
        this.#pump();
      },
    };
    return manager as unknown as LockManager & { close(): void };
  }

  #request<T>(
    name: string,
    options: LockOptions,
    callback: (lock: Lock | null) => T,
    clientId: string,
    closed: { value: boolean },
  ): Promise<Awaited<T>> {
    return new Promise<Awaited<T>>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      const request: Request = {
        name,
        mode: options.mode ?? 'exclusive',
        clientId,
        grant: () => {
          options.signal?.removeEventListener('abort', onAbort);
          this.#held.push(request);
          let done = false;
          const release = (): void => {
            if (done) return;
            done = true;
            this.#held.splice(this.#held.indexOf(request), 1);
            this.#pump();
          };
          request.released = release;
          // A closed tab's callbacks never settle for the other tabs; its lock is freed by close().
          Promise.resolve()
            .then(() => callback({ name, mode: request.mode } as Lock))
            .then(
              (value) => {
                release();
                if (!closed.value) resolve(value as Awaited<T>);
              },
              (error: unknown) => {
                release();
                if (!closed.value) reject(error);
              },
            );
        },
      };
      const onAbort = (): void => {
        const at = this.#pending.indexOf(request);
        if (at < 0) return;
        this.#pending.splice(at, 1);
        reject(options.signal?.reason);
        this.#pump();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.push(request);
      this.#pump();
    });
  }

  #pump(): void {
    for (const request of [...this.#pending]) {
      const held = this.#held.filter((other) => other.name === request.name);
      const earlier = this.#pending.slice(0, this.#pending.indexOf(request)).filter((o) => o.name === request.name);
      const free =
        request.mode === 'exclusive'
          ? held.length === 0 && earlier.length === 0
          : held.every((o) => o.mode === 'shared') && earlier.every((o) => o.mode === 'shared');
      if (free) {
        this.#pending.splice(this.#pending.indexOf(request), 1);
        request.grant();
      }
    }
  }
}
