// Adversarial review of the last hour's session and interceptor changes (review-final). Every test here fails on
// the branch it was written against; each names the behaviour that should hold.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import axios, { type AxiosAdapter } from 'axios';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attachRefresh, createTokenSession } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('scope in Node without baseURL: the path fast path', () => {
  it('never sends the token to another origin that a path like `/\\host` or `/<tab>/host` reaches through a jsdom-like page (window and document, no global location)', () => {
    // The fixture starts two servers on 127.0.0.1, defines `window` (with `location`) and `document` before importing
    // axios, so that axios's Node adapter resolves paths against that page, then sends `/ok`, `/\<other>/x` and
    // `/<TAB>/<other>/y`. It prints the Authorization headers each server received.
    const run = spawnSync(
      resolve('node_modules/.bin/tsx'),
      [resolve('test/fixtures-review-final/jsdom-like-page.mts'), resolve('src/index.ts')],
      { timeout: 20_000, encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Record<string, (string | null)[]>;
    expect(seen).toEqual({ api: ['Bearer secret-access'], other: [null, null] });
  });
});

describe('a login releases the requests that wait', () => {
  it('lets a request waiting for a tokens loader go on after setTokens without any timer firing (fake timers in the app tests do not hang it)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sent: (string | undefined)[] = [];
    const adapter: AxiosAdapter = async (config) => {
      sent.push(config.headers.Authorization as string | undefined);
      return { data: {}, status: 200, statusText: 'OK', headers: {}, config };
    };
    const session = createTokenSession({
      tokens: () => new Promise(() => undefined), // a loader that never answers (the app's storage hangs)
      refresh: async () => ({ accessToken: 'never' }),
    });
    const instance = axios.create({ adapter });
    attachRefresh(instance, { session });
    let settled = false;
    const request = instance.get('/data').finally(() => {
      settled = true;
    });
    await session.setTokens({ accessToken: 'after-login' });
    // Plenty of turns of the event loop, none of them a (fake) timer.
    for (let turn = 0; turn < 50 && !settled; turn += 1) await new Promise((done) => setImmediate(done));
    expect({ settled, sent }).toEqual({ settled: true, sent: ['Bearer after-login'] });
    await request;
  });
});

describe('attachRefresh: the send guard decision (othersIntercept)', () => {
  it('sends requests on an instance whose request interceptor list the app had set to null (axios tolerates it and recreates the list)', async () => {
    const adapter: AxiosAdapter = async (config) => ({ data: {}, status: 200, statusText: 'OK', headers: {}, config });
    const instance = axios.create({ adapter });
    (instance.interceptors.request as unknown as { handlers: unknown }).handlers = null;
    attachRefresh(instance, { tokens: { accessToken: 'a1' }, refresh: async () => ({ accessToken: 'a2' }) });
    const response = await instance.get('/data');
    expect(response.config.headers.Authorization).toBe('Bearer a1');
  });
});
