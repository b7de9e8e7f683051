import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { attachRefresh, createTokenSession } from '../src/index.js';
import type { TokenSet } from '../src/index.js';
import { INITIAL, startTokenApi } from './e2e/support/token-api.js';
import type { TokenApi } from './e2e/support/token-api.js';

let server: TokenApi | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A refresh function against the test server's token endpoint (rotation with reuse detection). */
const refreshAt =
  (url: string) =>
  async (current: TokenSet, { signal }: { signal: AbortSignal }): Promise<TokenSet> => {
    const { data } = await axios.post<{ access_token: string; refresh_token: string }>(
      `${url}/token`,
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken ?? '' }),
      { signal },
    );
    return { accessToken: data.access_token, refreshToken: data.refresh_token };
  };

describe('createTokenSession(options) shared by several axios instances', () => {
  it('makes one refresh for concurrent 401s across three instances and replays every request', async () => {
    server = await startTokenApi();
    const onTokens: (TokenSet | null)[] = [];
    const session = createTokenSession({
      tokens: INITIAL,
      refresh: refreshAt(server.url),
      onTokens: (tokens) => {
        onTokens.push(tokens);
      },
    });
    const events: (string | null)[] = [];
    session.on('tokens', (tokens) => events.push(tokens?.accessToken ?? null));
    const instances = [
      axios.create({ baseURL: server.url }),
      axios.create({ baseURL: server.url }),
      axios.create({ baseURL: server.url }),
    ];
    for (const instance of instances) attachRefresh(instance, { session });

    const responses = await Promise.all(
      instances.flatMap((instance, i) => Array.from({ length: 10 }, (_, j) => instance.get(`/api/${i}/${j}`))),
    );

    expect(responses.map((response) => response.status)).toEqual(Array(30).fill(200));
    expect(server.api.unauthorized).toBe(30);
    expect(server.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([['refresh-0', 'rotated']]);
    expect(server.revoked()).toBe(false);
    expect(onTokens).toEqual([{ accessToken: 'access-1', refreshToken: 'refresh-1' }]);
    expect(events).toEqual(['access-1']);
    await session.close();
  });

  it('shares the session of an instance attached with options through `attached.session`', async () => {
    server = await startTokenApi();
    const first = axios.create({ baseURL: server.url });
    const second = axios.create({ baseURL: server.url });
    const attached = attachRefresh(first, { tokens: INITIAL, refresh: refreshAt(server.url) });
    attachRefresh(second, { session: attached.session });

    await Promise.all([first.get('/api/a'), second.get('/api/b'), second.get('/api/c')]);

    expect(server.rotations()).toBe(1);
    expect(server.revoked()).toBe(false);
    expect(attached.getTokens()).toEqual({ accessToken: 'access-1', refreshToken: 'refresh-1' });
  });
});
