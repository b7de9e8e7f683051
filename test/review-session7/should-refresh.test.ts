/**
 * Session 7 break-it review.
 * h2 break-it review: `shouldRefresh` is the one app callback on the 401 path that is called bare. An `async`
 * function (plain JS; TypeScript refuses it) is "truthy" whatever it answers, and its rejection is never handled;
 * a function that throws replaces the request's error with its own, skipping the redaction of the AxiosError it got.
 * docs/errors.md "Errors thrown by your callbacks": none of them "becomes an uncaught exception or unhandled
 * rejection (in Node, that would kill a server)", and "no token in any error".
 */
import { inspect } from 'node:util';
import axios, { type AxiosError } from 'axios';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh } from '../../src/index.js';
import { listen, type LocalServer } from '../support/local-server.js';

const SECRET = 'AT-secret-h2-0001';
let server: LocalServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(async () => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  // Every request is refused with a plain Bearer challenge.
  server = await listen((_req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
  });
});

afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  vi.restoreAllMocks();
  await server.close();
});

function attach(shouldRefresh: (error: AxiosError) => boolean) {
  const api = axios.create({ baseURL: server.url, adapter: 'http' });
  let refreshes = 0;
  attachRefresh(api, {
    tokens: { accessToken: SECRET, refreshToken: 'RT-secret-h2-0001' },
    refresh: async () => {
      refreshes += 1;
      return { accessToken: 'AT-secret-h2-0002' };
    },
    shouldRefresh,
  });
  return { api, refreshes: () => refreshes };
}

describe('shouldRefresh that does not answer a plain boolean', () => {
  it('an async shouldRefresh that rejects crashes nothing (no unhandled rejection) and costs no refresh', async () => {
    const { api, refreshes } = attach((async () => {
      throw new Error('shouldRefresh bug');
    }) as unknown as (error: AxiosError) => boolean);
    await api.get('/x').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
    // A promise is no answer (as docs/api.md says for the allowedOrigins function): the refresh token is not spent.
    expect(refreshes()).toBe(0);
  });

  it('an async shouldRefresh that resolves false does not refresh', async () => {
    const { api, refreshes } = attach((async () => false) as unknown as (error: AxiosError) => boolean);
    await api.get('/x').catch(() => undefined);
    expect(refreshes()).toBe(0);
  });

  it('a shouldRefresh that throws leaves no token in what the request rejects with', async () => {
    const { api } = attach((error) => {
      // A typical app wrapper: keep the original error as `cause`.
      throw new Error('could not classify the response', { cause: error });
    });
    const caught = await api.get('/x').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(caught).toBeDefined();
    expect(inspect(caught, { depth: 10 })).not.toContain(SECRET);
  });
});
