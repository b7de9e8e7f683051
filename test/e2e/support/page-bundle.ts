import { fileURLToPath } from 'node:url';

/**
 * Bundles the test page's script (test/e2e/browser/entry.ts: axios, the package's source and the browser store) into
 * one IIFE for a page served on 127.0.0.1. Shared by the e2e suite and the bench's browser-tabs row.
 *
 * @param entry - the page script under test/e2e/browser/ (`scope-entry.ts` for the URL catalogue, `dpop-entry.ts`…).
 */
export async function buildPageBundle(entry = 'entry.ts'): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`../browser/${entry}`, import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}
