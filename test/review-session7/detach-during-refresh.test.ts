/**
 * Session 7 break-it review.
 * h2 break-it review: `detach()` while a 401'd request waits for the refresh. The refresh succeeds, then the plugin
 * replays the request through the instance it was detached from: no interceptor of ours runs any more, so the replay
 * goes out with the refused token it carried, fails with 401, and that AxiosError reaches the app with the token in
 * `error.config.headers.Authorization` (and `error.request`) unredacted. Expected: the waiting request goes out with
 * the new token (or fails with a clear error), and nothing it rejects with carries a token.
 */
import { inspect } from 'node:util';
import axios from 'axios';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import { listen, type LocalServer } from '../support/local-server.js';

let server: LocalServer;
const seen: (string | undefined)[] = [];

beforeEach(async () => {
  seen.length = 0;
  server = await listen((req, res) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization === 'Bearer AT-secret-h2-new') res.writeHead(200).end('ok');
    else res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
  });
});

afterEach(async () => {
  await server.close();
});

it('a request waiting for the refresh when detach() is called leaks no token and is not replayed with the refused one', async () => {
  const api = axios.create({ baseURL: server.url, adapter: 'http' });
  let release!: () => void;
  let refreshing!: () => void;
  const refreshCalled = new Promise<void>((resolve) => (refreshing = resolve));
  const auth = attachRefresh(api, {
    tokens: { accessToken: 'AT-secret-h2-old', refreshToken: 'RT-secret-h2' },
    refresh: () =>
      new Promise((resolve) => {
        release = () => resolve({ accessToken: 'AT-secret-h2-new' });
        refreshing();
      }),
  });
  const outcome = api.get('/x').then(
    (response) => ({ ok: true as const, data: response.data as unknown }),
    (error: unknown) => ({ ok: false as const, printed: inspect(error, { depth: 10 }) }),
  );
  // The request got its 401 and waits for the refresh (a fixed 50 ms did not always cover the round trip under load).
  await refreshCalled;
  auth.detach();
  release();
  const result = await outcome;
  // The refused token is never sent twice.
  expect(seen.filter((value) => value === 'Bearer AT-secret-h2-old')).toHaveLength(1);
  if (!result.ok) expect(result.printed).not.toContain('AT-secret-h2');
});
