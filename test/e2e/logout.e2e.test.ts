/**
 * logout() everywhere (issue 13): two Node processes sharing a login over a real Redis, and two Chromium tabs sharing
 * one through the browser store, against the rotating token API with its RFC 7009 revocation endpoint. Both load the
 * built package by its name (dist/), as an app would.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisTokenStore } from '../../src/redis.js';
import type { LogoutTab, LogoutTabConfig, LogoutTabState } from './browser/logout-entry.js';
import type { BurstResult, Command, LogoutReply, WorkerState } from './fleet/logout-worker.js';
import { CHROMIUM, launchChromium } from './support/chromium.js';
import { buildPageBundle } from './support/page-bundle.js';
import { startTestRedis } from './support/redis-server.js';
import type { TestRedis } from './support/redis-server.js';
import { INITIAL, startTokenApi } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';
import { bundleNodeScript } from './support/node-bundle.js';

declare global {
  var logoutTab: LogoutTab;
}

const REFRESH_TIMEOUT_MS = 10_000;
/** How long the revocation endpoint takes to answer while the other process's requests pile up behind the logout. */
const REVOCATION_DELAY_MS = 3000;

let api: TokenApi | undefined;

/** Polls `check` every 20 ms until it returns true, for at most `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('logout() in one of two Node processes sharing the login over Redis (real redis-server, built package)', () => {
  let workerDir: string;
  let workerFile: string;
  let redisServer: TestRedis;
  let redis: Redis;
  let children: ChildProcess[] = [];
  const prefix = `axios-token-refresh-e2e-logout:${randomUUID()}:`;

  beforeAll(async () => {
    workerDir = await mkdtemp(join(tmpdir(), 'axios-token-refresh-logout-'));
    workerFile = join(workerDir, 'logout-worker.mjs');
    await bundleNodeScript(fileURLToPath(new URL('./fleet/logout-worker.ts', import.meta.url)), workerFile);
    redisServer = await startTestRedis();
    redis = new Redis(redisServer.url);
  });

  afterEach(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    children = [];
  });

  afterAll(async () => {
    if (redis) {
      const leftovers = await redis.keys(`${prefix}*`);
      if (leftovers.length > 0) await redis.del(...leftovers);
      await redis.quit();
    }
    await redisServer?.stop();
    if (workerDir) await rm(workerDir, { recursive: true, force: true });
  });

  /** A process of the fleet, and a way to send it a command and get its reply. */
  interface Worker {
    call(command: { type: 'burst'; requests: number }): Promise<BurstResult>;
    call(command: { type: 'logout' }): Promise<LogoutReply>;
    call(command: { type: 'state' }): Promise<WorkerState>;
  }

  async function startWorker(name: string, key: string): Promise<Worker> {
    const child = fork(workerFile, [], {
      env: {
        ...process.env,
        WORKER_ID: name,
        REDIS_URL: redisServer.url,
        API_URL: api!.url,
        STORE_KEY: key,
        STORE_PREFIX: prefix,
        REFRESH_TIMEOUT_MS: String(REFRESH_TIMEOUT_MS),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: { type: string }) => message.type === 'ready' && resolve());
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    });
    let next = 0;
    const call = (command: Omit<Command, 'id'>): Promise<unknown> => {
      const id = (next += 1);
      return new Promise((resolve, reject) => {
        const onMessage = (message: { type: string; id?: number; result?: unknown; error?: string }): void => {
          if (message.type !== 'reply' || message.id !== id) return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (message.error !== undefined) reject(new Error(`${name}: ${message.error}`));
          else resolve(message.result);
        };
        const onExit = (code: number | null): void => reject(new Error(`${name} exited with ${code}`));
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ ...command, id });
      });
    };
    return { call } as Worker;
  }

  it('revokes at the server, and the other process sees null: tokens event with null, waiting requests reject with LOGGED_OUT, its next request goes out without a token, no sessionExpired', async () => {
    api = await startTokenApi();
    const key = `logout-${randomUUID()}`;
    const seeding = createRedisTokenStore({ redis, key, prefix });
    expect(await seeding.write({ ...INITIAL }, 0)).not.toBeNull();
    await seeding.close?.();
    const leaving = await startWorker('leaving', key);
    const staying = await startWorker('staying', key);

    // Both processes work on the shared login: one refresh (in `staying`), and `leaving` learns the new tokens.
    expect(await staying.call({ type: 'burst', requests: 5 })).toEqual({ ok: 5, failures: [] });
    await until(
      'the other process has the refreshed tokens',
      async () => (await leaving.call({ type: 'state' })).accessToken === 'access-1',
    );
    expect(await leaving.call({ type: 'burst', requests: 5 })).toEqual({ ok: 5, failures: [] });

    // `leaving` signs out. The server revokes at once but answers slowly, so the logout holds the refresh lock a while.
    api.setRevocationDelay(REVOCATION_DELAY_MS);
    const loggingOut = leaving.call({ type: 'logout' });
    await until('the revocation reached the server', () => api!.revocations.length > 0);
    // Meanwhile `staying` sends requests: the revoked access token gets 401s, and they wait for a refresh that the
    // logout's lock holds back.
    const waiting = staying.call({ type: 'burst', requests: 10 });
    const reply = await loggingOut;
    const waited = await waiting;

    expect(reply).toEqual({ revoked: true, error: null });
    expect(api.revocations.map((r) => [r.token, r.hint, r.live])).toEqual(
      expect.arrayContaining([
        ['refresh-1', 'refresh_token', true],
        ['access-1', 'access_token', expect.any(Boolean)],
      ]),
    );
    expect(api.revocations).toHaveLength(2);
    expect(waited).toEqual({ ok: 0, failures: Array(10).fill('LOGGED_OUT') });
    // Nobody tried the revoked refresh token: the only refresh is the first one.
    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([['refresh-0', 'rotated']]);

    const stayed = await staying.call({ type: 'state' });
    expect(stayed.accessToken).toBeNull();
    expect(stayed.tokenEvents).toEqual(['access-1', null]);
    expect(stayed.sessionExpiredCalls).toBe(0);
    // A logout elsewhere is not a failed refresh, though a refresh was waiting for the lock here.
    expect(stayed.refreshErrors).toEqual([]);
    const left = await leaving.call({ type: 'state' });
    expect(left.accessToken).toBeNull();
    expect(left.tokenEvents).toEqual(['access-1', null]);
    expect(left.onTokens).toEqual([null]);
    expect(left.sessionExpiredCalls).toBe(0);
    expect(left.refreshErrors).toEqual([]);

    // The next request in `staying` goes out without a token, and is refused without any refresh.
    const anonymous = api.anonymousRequests();
    expect(await staying.call({ type: 'burst', requests: 1 })).toEqual({ ok: 0, failures: ['SESSION_EXPIRED'] });
    expect(api.anonymousRequests()).toBe(anonymous + 1);
    expect(api.refreshRequests).toHaveLength(1);
    expect(await staying.call({ type: 'state' })).toMatchObject({ sessionExpiredCalls: 0, refreshErrors: [] });
    expect(JSON.parse((await redis.get(`${prefix}${key}:tokens`)) ?? 'null')).toMatchObject({ tokens: null });
  });
});

describe('logout() in one of two Chromium tabs sharing the login (axios-token-refresh/browser, built package)', () => {
  const STORAGES = ['memory', 'localStorage', 'indexedDB'] as const;
  let bundle: string;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let runs = 0;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `The browser tests drive Debian's Chromium at ${CHROMIUM}, which is missing: install it with \`apt-get install chromium\`.`,
      );
    }
    bundle = await buildPageBundle('logout-entry.ts');
    browser = await launchChromium();
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function openTabs(storage: LogoutTabConfig['storage']): Promise<Page[]> {
    api = await startTokenApi({
      '/': {
        type: 'text/html',
        body: '<!doctype html><meta charset="utf-8"><title>logout</title><script src="/bundle.js"></script>',
      },
      '/bundle.js': { type: 'text/javascript', body: bundle },
    });
    context = await browser.newContext();
    const name = `e2e-logout-${storage}-${(runs += 1)}`;
    const pages: Page[] = [];
    for (const client of ['tab-0', 'tab-1']) {
      const page = await context.newPage();
      await page.goto(`${api.url}/`);
      const config: LogoutTabConfig = { client, name, storage, refreshTimeoutMs: REFRESH_TIMEOUT_MS };
      await page.evaluate((c) => globalThis.logoutTab.start(c), config);
      pages.push(page);
    }
    return pages;
  }

  const state = (page: Page): Promise<LogoutTabState> => page.evaluate(() => globalThis.logoutTab.state());

  it.each(STORAGES)(
    '%s storage: the other tab sees null (tokens event, no sessionExpired), and its next request goes out without a token',
    async (storage) => {
      const [leaving, staying] = (await openTabs(storage)) as [Page, Page];
      await leaving.evaluate((tokens) => globalThis.logoutTab.login(tokens), { ...INITIAL });
      // One refresh in the staying tab; the leaving tab learns the new tokens through the store.
      expect(await staying.evaluate(() => globalThis.logoutTab.burst(5))).toEqual({ ok: 5, failures: [] });
      await until(
        'the leaving tab has the refreshed tokens',
        async () => (await state(leaving)).accessToken === 'access-1',
      );

      const reply = await leaving.evaluate(() => globalThis.logoutTab.logout());
      expect(reply).toEqual({ revoked: true, error: null });
      expect(api!.revocations.map((r) => r.token).sort()).toEqual(['access-1', 'refresh-1']);
      await until('the staying tab has seen the logout', async () => (await state(staying)).accessToken === null, 5000);

      const stayed = await state(staying);
      expect(stayed.tokenEvents.at(-1)).toBeNull();
      expect(stayed.tokenEvents.filter((event) => event === null)).toHaveLength(1);
      expect(stayed.sessionExpiredCalls).toBe(0);
      const anonymous = api!.anonymousRequests();
      expect(await staying.evaluate(() => globalThis.logoutTab.burst(1))).toEqual({
        ok: 0,
        failures: ['SESSION_EXPIRED'],
      });
      expect(api!.anonymousRequests()).toBe(anonymous + 1);
      expect(api!.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([['refresh-0', 'rotated']]);
      expect((await state(staying)).sessionExpiredCalls).toBe(0);
      expect((await state(leaving)).sessionExpiredCalls).toBe(0);
    },
  );
});
