/**
 * What the three `oidc-provider` harnesses share (oidc.ts: the OAuth grant tests and the demo; oidc-full.ts: the whole
 * life of a login; oidc-dpop.ts: DPoP): a per-harness storage adapter, the provider's import, the test account, and
 * starting and stopping a server on 127.0.0.1.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The account every harness logs in. */
export const ACCOUNT = 'alice';

/**
 * One Map per harness instead of oidc-provider's bundled memory adapter, which is a process-wide LRU of 1000 entries
 * (shared by every provider in the process, and it warns on start). Same contract: `consume` marks, `revokeByGrantId`
 * drops every token of a grant, an entry is kept a minute past its expiry (the provider reports an expired token
 * differently from an unknown one).
 */
export function mapAdapter(): new (name: string) => object {
  const store = new Map<string, { payload: Record<string, unknown>; expiresAt: number | undefined }>();
  const grants = new Map<string, Set<string>>();
  const live = (key: string): Record<string, unknown> | undefined => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  return class MapAdapter {
    readonly #name: string;
    constructor(name: string) {
      this.#name = name;
    }
    #key(id: string): string {
      return `${this.#name}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
      const key = this.#key(id);
      store.set(key, {
        payload: { ...payload },
        expiresAt: expiresIn ? Date.now() + (expiresIn + 60) * 1000 : undefined,
      });
      const grantId = payload['grantId'];
      if (typeof grantId === 'string') {
        const members = grants.get(grantId) ?? new Set<string>();
        members.add(key);
        grants.set(grantId, members);
      }
    }
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      return live(this.#key(id));
    }
    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      for (const [key, entry] of store) {
        if (key.startsWith(`${this.#name}:`) && entry.payload['uid'] === uid) return live(key);
      }
      return undefined;
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async consume(id: string): Promise<void> {
      const payload = live(this.#key(id));
      if (payload) payload['consumed'] = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    }
  };
}

/**
 * Imports oidc-provider without its notice that Node 20 is not its preferred runtime (it works there). The package
 * ships no types: each harness says the shape it relies on.
 */
export async function loadProvider<P>(): Promise<new (issuer: string, configuration: Record<string, unknown>) => P> {
  // A specifier in a variable: the package has no type declarations.
  const specifier = 'oidc-provider';
  const warn = console.warn;
  console.warn = () => {};
  try {
    return ((await import(specifier)) as { default: new (issuer: string, configuration: Record<string, unknown>) => P })
      .default;
  } finally {
    console.warn = warn;
  }
}

/** Listens on 127.0.0.1 at a port the OS picks; resolves with the port. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Closes the server and every connection it holds (keep-alive ones too). */
export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
