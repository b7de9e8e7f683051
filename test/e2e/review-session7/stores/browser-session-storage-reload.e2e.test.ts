// Session 7 review (r2). Finding: a per-tab storage (sessionStorage, exactly as the TokenStorage JSDoc example writes it) keeps the record
// the tab itself wrote last. Another tab's refresh reaches it only as an announcement, which the store adopts in
// memory but never writes to this tab's storage. Reload that tab after the other one closed: it reads its own stale
// record, whose refresh token is spent, and presents it again (reuse -> the grant is revoked).
import { afterEach, expect, it } from 'vitest';
import { INITIAL } from '../../support/token-api.js';
import { harness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('sessionStorage (TokenStorage JSDoc example): reloading a tab after the refreshing tab closed never presents a spent refresh token', async () => {
  h = await harness();
  const config = { name: 'ss', storage: 'sessionStorage' as const, refreshTimeoutMs: 2000 };
  const a = await h.open({ ...config, client: 'A' });
  const b = await h.open({ ...config, client: 'B' });
  await a.evaluate((t) => globalThis.r2.login(t), { ...INITIAL });
  await b.waitForFunction(() => globalThis.r2.tokens().refreshToken === 'refresh-0');

  // B refreshes (refresh-0 -> refresh-1); A hears the new tokens.
  expect(await b.evaluate(() => globalThis.r2.burst(3))).toEqual(['200', '200', '200']);
  await a.waitForFunction(() => globalThis.r2.tokens().refreshToken === 'refresh-1');
  expect(await a.evaluate(() => globalThis.r2.get('/api/x'))).toBe('200');

  // The user closes B and reloads A.
  await b.close();
  await a.reload();
  await a.evaluate((c) => globalThis.r2.start(c), { ...config, client: 'A' });
  const status = await a.evaluate(() => globalThis.r2.get('/api/after-reload'));

  const presented = h.api.refreshRequests.map((r) => `${r.refreshToken}:${r.outcome}`);
  expect(presented).not.toContain('refresh-0:reused');
  expect(h.api.revoked()).toBe(false);
  expect(status).toBe('200');
});
