// The review-session10 harness (server, Chromium), serving support/entry2.ts instead: `window.f` and `window.f2`.
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../../support/chromium.js';
import { startServer, type Harness } from './harness.js';
import type { F2 } from './entry2.js';

declare global {
  var f2: F2;
}

async function bundle(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./entry2.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

export async function harness2(): Promise<Harness> {
  const server = await startServer(await bundle());
  const browser = await launchChromium();
  const context = await browser.newContext();
  const page = async () => {
    const tab = await context.newPage();
    await tab.goto(`${server.url}/`);
    return tab;
  };
  return {
    browser,
    context,
    server,
    page,
    async session(config) {
      const tab = await page();
      await tab.evaluate((c) => globalThis.f.start(c), config);
      return tab;
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}
