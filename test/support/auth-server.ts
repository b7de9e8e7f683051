import type { TokenSet } from '../../src/index.js';

/** An error shaped like an AxiosError answer, so the session classifies it as the server's refusal. */
export class HttpRefusal extends Error {
  readonly response: { status: number; data: unknown; headers: Record<string, string> };
  constructor(status: number, data: unknown = { error: 'invalid_grant' }) {
    super(`HTTP ${status}`);
    this.response = { status, data, headers: {} };
  }
}

/**
 * A simulated authorization + resource server: opaque tokens, refresh-token rotation, and reuse detection that
 * revokes the whole grant when a spent refresh token is presented again (RFC 9700 §4.14.2).
 */
export class AuthServer {
  accessTtlMs = 60_000;
  rotate = true;
  refreshes = 0;
  revoked = false;
  /** Every refresh token presented to the token endpoint, in order. */
  readonly presented: string[] = [];
  /** Every access token seen by the resource server, in order of arrival. */
  readonly seen: string[] = [];
  served401 = 0;
  #counter = 0;
  readonly #access = new Map<string, number>();
  readonly #refreshTokens = new Map<string, 'live' | 'spent'>();

  /** Issues a fresh grant, as a login would. */
  login(): TokenSet {
    this.revoked = false;
    return this.#issue();
  }

  #issue(refreshToken?: string): TokenSet {
    this.#counter += 1;
    const accessToken = `at-${this.#counter}`;
    const expiresAt = Date.now() + this.accessTtlMs;
    this.#access.set(accessToken, expiresAt);
    const next = refreshToken ?? `rt-${this.#counter}`;
    this.#refreshTokens.set(next, 'live');
    return { accessToken, refreshToken: next, expiresAt };
  }

  /** The token endpoint. Throws HttpRefusal(400) for a spent, unknown or revoked refresh token. */
  refresh(refreshToken: string | undefined): TokenSet {
    this.refreshes += 1;
    if (refreshToken === undefined) throw new HttpRefusal(400);
    this.presented.push(refreshToken);
    const state = this.#refreshTokens.get(refreshToken);
    if (state === 'spent') {
      this.revokeAll();
      throw new HttpRefusal(400);
    }
    if (state !== 'live' || this.revoked) throw new HttpRefusal(400);
    if (!this.rotate) return { ...this.#issue(refreshToken) };
    this.#refreshTokens.set(refreshToken, 'spent');
    return this.#issue();
  }

  /** Revokes the grant: every token dies. */
  revokeAll(): void {
    this.revoked = true;
    this.#access.clear();
    for (const key of this.#refreshTokens.keys()) this.#refreshTokens.set(key, 'spent');
  }

  /** Expires every access token now (server side: the client cannot know). */
  expireAccessTokens(): void {
    this.#access.clear();
  }

  /** The resource server's check of an Authorization header. */
  accepts(authorization: unknown): boolean {
    const token = typeof authorization === 'string' ? authorization.replace(/^Bearer /, '') : '';
    this.seen.push(token);
    const expiresAt = this.#access.get(token);
    const ok = !this.revoked && expiresAt !== undefined && Date.now() < expiresAt;
    if (!ok) this.served401 += 1;
    return ok;
  }

  /** Refresh tokens presented more than once. */
  get reused(): string[] {
    return this.presented.filter((token, index) => this.presented.indexOf(token) !== index);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
