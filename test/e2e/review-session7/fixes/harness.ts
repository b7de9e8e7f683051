import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { R3, R3Config } from './r3-entry.js';
import { launchChromium } from '../../support/chromium.js';
import { startTokenApi, type TokenApi } from '../../support/token-api.js';
import { bundle } from '../stores/harness.js';

declare global {
  var r3: R3;
}

export interface Harness {
  browser: Browser;
  context: BrowserContext;
  api: TokenApi;
  open(config: R3Config, session?: boolean): Promise<Page>;
  close(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const code = await bundle(new URL('./r3-entry.ts', import.meta.url));
  const api = await startTokenApi({
    '/': {
      type: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>r3</title><script src="/bundle.js"></script>',
    },
    '/bundle.js': { type: 'text/javascript', body: code },
  });
  const browser = await launchChromium();
  const context = await browser.newContext();
  return {
    browser,
    context,
    api,
    async open(config, withSession = false) {
      const page = await context.newPage();
      await page.goto(`${api.url}/`);
      await page.evaluate(([c, s]) => (s ? globalThis.r3.startSession(c) : globalThis.r3.start(c)), [
        config,
        withSession,
      ] as const);
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await api.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
