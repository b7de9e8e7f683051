import { afterEach, expect, it } from 'vitest';
import { harness, sleep, type Harness } from '../review-session10/support/harness.js';
import type { Page } from 'playwright-core';

let h: Harness | undefined;
afterEach(async () => { await h?.close(); h = undefined; });
const config = { name: 'app', refreshTimeoutMs: 5000, storage: 'idb' as const };

for (const types of ['local_storage', 'indexeddb', 'cookies', 'local_storage,indexeddb,cookies,cache_storage,service_workers,file_systems']) {
  it(`non-splitting clear ${types}`, async () => {
    h = await harness();
    const a = await h.session({ ...config, client: 'a' });
    await a.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }));
    const cdp = await h.context.newCDPSession(a);
    await cdp.send('Storage.clearDataForOrigin', { origin: h.server.url, storageTypes: types });
    const b = await h.session({ ...config, client: 'b' });
    await sleep(1500);
    h.server.expireAccess(); h.server.setRefreshDelay(300);
    const st = await Promise.all([a, b].map((p) => p.evaluate(() => globalThis.f.request('/api/x'))));
    console.log(types, st, await a.evaluate(() => globalThis.f.errors()), await b.evaluate(() => globalThis.f.errors()), h.server.presented.map(p=>p.refreshToken+' '+p.outcome));
  });
}

it('2 old + 2 new, then three buckets', async () => {
  h = await harness();
  const olds = [await h.session({ ...config, client: 'o1' }), await h.session({ ...config, client: 'o2' })];
  await olds[0]!.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }));
  const lo = await h.page(); await lo.goto(`${h.server.url}/logout`);
  const grant = h.server.newGrant();
  const news = [await h.session({ ...config, client: 'n1' }), await h.session({ ...config, client: 'n2' })];
  await news[0]!.evaluate((t) => globalThis.f.login(t), grant);
  await sleep(1500);
  h.server.expireAccess(); h.server.setRefreshDelay(300);
  const all = [...olds, ...news];
  console.log(await Promise.all(all.map((p) => p.evaluate(() => globalThis.f.request('/api/x')))));
  for (const p of all) console.log(await p.evaluate(() => globalThis.f.errors()));
  console.log(h.server.presented.map(p=>p.refreshToken+' '+p.client+' '+p.outcome));
  // second clear
  await lo.goto(`${h.server.url}/logout`);
  const g3 = h.server.newGrant();
  const third = await h.session({ ...config, client: 't1' });
  await third.evaluate((t) => globalThis.f.login(t), g3);
  await sleep(1500);
  h.server.expireAccess();
  const all2 = [...all, third];
  console.log(await Promise.all(all2.map((p) => p.evaluate(() => globalThis.f.request('/api/y')))));
  for (const p of all2) console.log(await p.evaluate(() => globalThis.f.errors().length));
  console.log(h.server.presented.map(p=>p.refreshToken+' '+p.client+' '+p.outcome), h.server.revoked());
});

it('forged', async () => {
  h = await harness();
  const a = await h.session({ ...config, client: 'a' });
  await a.evaluate(() => globalThis.f.login({ accessToken: 'access-0', refreshToken: 'refresh-0' }));
  const evil = await h.page();
  await evil.evaluate(() => {
    const ch = new BroadcastChannel('axios-token-refresh:app');
    const me = { from: 'evil', since: Number.MAX_VALUE };
    ch.onmessage = (e) => { if (e.data?.type === 'ping' && e.data.to === 'evil') ch.postMessage({ type: 'pong', to: e.data.from, ...me }); };
    ch.postMessage({ type: 'hello', ...me });
  });
  await sleep(1000);
  console.log('forged', await a.evaluate(() => globalThis.f.errors()), await a.evaluate(() => globalThis.f.tokens()));
  // flood
  const b = await h.session({ ...config, client: 'b' });
  await evil.evaluate(() => {
    const ch = new BroadcastChannel('axios-token-refresh:app');
    for (let i = 0; i < 20000; i++) ch.postMessage({ type: 'hello', from: 'x' + i, since: 0 });
  });
  await sleep(3000);
  const m = await b.evaluate(() => (performance as any).memory?.usedJSHeapSize);
  console.log('heap', m);
});
