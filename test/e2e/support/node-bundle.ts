import { build } from 'esbuild';

/**
 * Bundles a TypeScript entry (a fleet worker, a CLI) into one ESM file that plain `node` runs: the built package
 * (dist/, reached through its package name) and its dependencies inlined, so that each process starts in well under
 * a second where a TypeScript loader per process would cost seconds.
 *
 * @param entry - the source file.
 * @param outfile - where the bundle goes.
 */
export async function bundleNodeScript(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    // Bundled CommonJS dependencies (ioredis) call require() for Node's own modules.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
}
