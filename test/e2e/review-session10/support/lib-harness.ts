// The review-session10 server (token endpoint with rotation and reuse detection) serving support/lib-entry.ts, which
// puts the package's browser API on `window.lib`. FOUND_SRC=<dir holding src/> bundles that source instead.
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../support/chromium.js';
import { startServer, type Server } from './harness.js';
import type { App, Lib } from './lib-entry.js';

declare global {
  var lib: Lib;
  var app: App;
}

async function bundle(): Promise<string> {
  const { build } = await import('esbuild');
  const root = fileURLToPath(new URL('../../../../src/', import.meta.url));
  const other = process.env.FOUND_SRC;
  const result = await build({
    plugins: other
      ? [
          {
            name: 'other-src',
            setup(b) {
              b.onResolve({ filter: /src\// }, (args) => {
                const path = fileURLToPath(new URL(args.path, `file://${args.resolveDir}/`)).replace(/\.js$/, '.ts');
                return path.startsWith(root) ? { path: other + path.slice(root.length - 1) } : undefined;
              });
            },
          },
        ]
      : [],
    entryPoints: [fileURLToPath(new URL('./lib-entry.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

export interface LibHarness {
  browser: Browser;
  context: BrowserContext;
  server: Server;
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function libHarness(): Promise<LibHarness> {
  const server = await startServer(await bundle());
  const browser = await launchChromium();
  const context = await browser.newContext();
  return {
    browser,
    context,
    server,
    async page() {
      const tab = await context.newPage();
      await tab.goto(`${server.url}/`);
      return tab;
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}
