// Session 7 review (r2). Finding: when localStorage is full (QuotaExceededError), the tab that refreshed keeps the rotated tokens in its own
// memory only: it neither stores nor announces them (the announcement is posted only after a successful storage
// write). Its write-back gives up after refreshTimeoutMs, the lock goes free, and the next tab that needs a refresh
// presents the spent refresh token: with reuse detection the whole login is revoked in every tab.
import { afterEach, expect, it } from 'vitest';
import { INITIAL } from '../../support/token-api.js';
import { harness, sleep, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('localStorage quota exceeded while writing refreshed tokens: the other tab never presents the spent refresh token', async () => {
  h = await harness();
  const config = { name: 'quota', storage: 'localStorage' as const, refreshTimeoutMs: 1000 };
  const a = await h.open({ ...config, client: 'A' });
  const b = await h.open({ ...config, client: 'B' });
  await a.evaluate((t) => globalThis.r2.login(t), { ...INITIAL });
  await b.waitForFunction(() => globalThis.r2.tokens().refreshToken === 'refresh-0');

  // Other data of the app fills localStorage to the last byte (the refreshed record, with expiresAt, is longer).
  const filled = await a.evaluate(() => {
    let chunk = 'x'.repeat(1 << 20);
    let i = 0;
    while (chunk.length > 0) {
      try {
        localStorage.setItem(`filler-${i++}`, chunk);
      } catch {
        chunk = chunk.slice(0, Math.floor(chunk.length / 2));
      }
    }
    return i;
  });
  expect(filled).toBeGreaterThan(0);

  // A refreshes: the server rotates refresh-0, the storage write fails.
  expect(await a.evaluate(() => globalThis.r2.get('/api/a'))).toBe('200');
  expect(await a.evaluate(() => globalThis.r2.tokens().refreshToken)).toBe('refresh-1');
  await sleep(1500); // A's write-back (bounded by refreshTimeoutMs) is over

  // B's access token is dead at the server: it needs a refresh.
  const status = await b.evaluate(() => globalThis.r2.get('/api/b'));
  const presented = h.api.refreshRequests.map((r) => `${r.client}:${r.refreshToken}:${r.outcome}`);
  expect(presented).not.toContain('B:refresh-0:reused');
  expect(h.api.revoked()).toBe(false);
  expect(status).toBe('200');
});
