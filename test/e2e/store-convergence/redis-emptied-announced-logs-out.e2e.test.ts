/**
 * Found (s8 store review, HIGH): Redis losing its data while a process reads back an announcement logs that process
 * out, and every process that heard the same announcement; none of them writes its tokens back.
 *
 * `#verifyOnce` reads the key back after a message; an emptied key is `{ tokens: null, version: 0 }`, and since 0 is
 * below the version heard it is "news" (`wentBack`) and passed to the listeners. The session checks a lower version
 * with a read (`#onStoreWrite`), finds `{ null, 0 }` again, and `#adoptReset` adopts it as "a login made after the store
 * was emptied": the session drops its tokens and ends (`tokens` event with null, `getTokens()` null, requests go out
 * without a token). It never writes its tokens back: with no tokens it never refreshes. The file store does not do
 * this ("No file is no news"), and `#underLock` excludes exactly this record (`stored.tokens !== null ||
 * stored.version !== 0`) before `#adoptReset`; `#onStoreWrite` does not.
 *
 * docs/stores.md, "When Redis loses data": "The session, under the lock, writes back the tokens it holds and refreshes
 * from them. Nothing needs restarting." The promise: "never logs you out".
 *
 * Sequence (a Redis restart without persistence right after a write): process B refreshes (write + PUBLISH); A's
 * subscriber gets the message; A's read-back GET is still on its way (A's command connection goes through a TCP proxy
 * the test holds cut, so that the GET lands after the loss: the interleaving a crash right after the write gives);
 * Redis loses its data (FLUSHALL on a redis-server of the test's own); the GET answers nil.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTokenSession } from '../../../src/index.js';
import type { TokenSet } from '../../../src/index.js';
import { createRedisTokenStore } from '../../../src/redis.js';
import { startOwnRedis, startTcpProxy } from '../support/redis-faults.js';
import { cleanupAfterEach } from '../../support/cleanups.js';

const defer = cleanupAfterEach();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('Redis loses its data while a process reads back an announcement', () => {
  it('the process keeps its tokens (and writes them back), it is not logged out', async () => {
    const own = await startOwnRedis();
    defer(() => own.dispose());
    const admin = new Redis(own.url);
    defer(() => admin.quit());
    const proxy = await startTcpProxy(own.port);
    defer(() => proxy.close());
    const key = `found-emptied-${randomUUID()}`;

    let serial = 0;
    const refresh = async (_current: TokenSet): Promise<TokenSet> => {
      serial += 1;
      return { accessToken: `a${serial}`, refreshToken: `r${serial}`, expiresAt: Date.now() + 3_600_000 };
    };
    const open = (commands: Redis, subscriber?: Redis) => {
      commands.on('error', () => undefined);
      const store = createRedisTokenStore({
        redis: commands,
        ...(subscriber ? { subscriber } : {}),
        key,
        onError: () => undefined,
      });
      const session = createTokenSession({ store, refresh });
      defer(async () => {
        await session.close();
        await store.close();
        commands.disconnect();
        subscriber?.disconnect();
      });
      return session;
    };
    const a = open(new Redis(proxy.url), new Redis(own.url)); // A: commands through the proxy, pub/sub direct
    const b = open(new Redis(own.url));
    await b.setTokens({ accessToken: 'a0', refreshToken: 'r0', expiresAt: Date.now() + 3_600_000 });
    for (let waited = 0; a.getTokens()?.accessToken !== 'a0' && waited < 3_000; waited += 20) await sleep(20);
    expect(await a.getAccessToken()).toBe('a0');
    const events: (string | null)[] = [];
    a.on('tokens', (tokens) => events.push(tokens?.accessToken ?? null));

    await proxy.cut(); // A's read-back of the next announcement will land late
    await b.refresh(); // version 2, a1: written and announced
    await sleep(200); // A has the message; its GET waits in ioredis's offline queue
    await admin.flushall(); // Redis restarted without persistence
    await proxy.restore(); // A's GET runs now: nil
    await sleep(1_500);

    expect.soft(events).not.toContain(null);
    expect(a.getTokens()).not.toBeNull(); // observed: null, the session ended
  });
});
