import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { R2, R2Config } from './r2-entry.js';
import { launchChromium } from '../../support/chromium.js';
import { startTokenApi, type TokenApi } from '../../support/token-api.js';

declare global {
  var r2: R2;
}

/** The page script: `entry` (this folder's r2-entry.ts by default) bundled for the browser. */
export async function bundle(entry = new URL('./r2-entry.ts', import.meta.url)): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

export interface Harness {
  browser: Browser;
  context: BrowserContext;
  api: TokenApi;
  open(config: R2Config): Promise<Page>;
  close(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const code = await bundle();
  const api = await startTokenApi({
    '/': {
      type: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>r2</title><script src="/bundle.js"></script>',
    },
    '/bundle.js': { type: 'text/javascript', body: code },
  });
  const browser = await launchChromium();
  const context = await browser.newContext();
  return {
    browser,
    context,
    api,
    async open(config) {
      const page = await context.newPage();
      await page.goto(`${api.url}/`);
      await page.evaluate((c) => globalThis.r2.start(c), config);
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
