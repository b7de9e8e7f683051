/**
 * Scenario 6: what a browser app ships, measured with esbuild (bundle, minify, platform browser, ESM) and node:zlib
 * gzip. axios is always external: the app has it anyway.
 */
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface BundleResult {
  readonly id: BundleId;
  readonly label: string;
  /** For the chart. */
  readonly short: string;
  readonly external: readonly string[];
  /** Minified bytes. */
  readonly minBytes: number;
  /** Minified then gzipped (level 9) bytes. */
  readonly gzipBytes: number;
}

export type BundleId =
  | 'ours'
  | 'oursWithPQueue'
  | 'oursGrant'
  | 'oursGrantWithPQueue'
  | 'axiosAuthRefresh'
  | 'axiosJwt'
  | 'axios';

interface BundleSpec {
  readonly id: BundleId;
  readonly label: string;
  readonly short: string;
  readonly entry: string;
  readonly external: readonly string[];
}

const specs: readonly BundleSpec[] = [
  {
    id: 'ours',
    label: 'axios-token-refresh: attachRefresh, deps external',
    short: 'ours, deps external',
    entry: 'ours-attach',
    external: ['axios', 'p-queue'],
  },
  {
    id: 'oursWithPQueue',
    label: 'axios-token-refresh: attachRefresh + p-queue',
    short: 'ours + p-queue',
    entry: 'ours-attach',
    external: ['axios'],
  },
  {
    id: 'oursGrant',
    label: 'axios-token-refresh: attachRefresh + refreshTokenGrant, deps external',
    short: 'ours + refreshTokenGrant, deps external',
    entry: 'ours-attach-grant',
    external: ['axios', 'p-queue'],
  },
  {
    id: 'oursGrantWithPQueue',
    label: 'axios-token-refresh: attachRefresh + refreshTokenGrant + p-queue',
    short: 'ours + refreshTokenGrant + p-queue',
    entry: 'ours-attach-grant',
    external: ['axios'],
  },
  {
    id: 'axiosAuthRefresh',
    label: 'axios-auth-refresh: createAuthRefresh',
    short: 'axios-auth-refresh',
    entry: 'axios-auth-refresh',
    external: ['axios'],
  },
  {
    id: 'axiosJwt',
    label: 'axios-jwt: applyAuthTokenInterceptor (+ jwt-decode, ms)',
    short: 'axios-jwt',
    entry: 'axios-jwt',
    external: ['axios'],
  },
  {
    id: 'axios',
    label: 'axios itself (for scale; external above)',
    short: 'axios',
    entry: 'axios',
    external: [],
  },
];

async function measure(spec: BundleSpec): Promise<BundleResult> {
  const output = await build({
    entryPoints: [fileURLToPath(new URL(`./entries/${spec.entry}.ts`, import.meta.url))],
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    external: [...spec.external],
    // What browser bundlers substitute; axios-jwt reads it at load time.
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const code = output.outputFiles[0]!.contents;
  return {
    id: spec.id,
    label: spec.label,
    short: spec.short,
    external: spec.external,
    minBytes: code.byteLength,
    gzipBytes: gzipSync(code, { level: 9 }).byteLength,
  };
}

/** Measures the given bundles (all by default). */
export async function bundleSizes(ids?: readonly BundleId[]): Promise<BundleResult[]> {
  const chosen = ids === undefined ? specs : specs.filter((spec) => ids.includes(spec.id));
  const results: BundleResult[] = [];
  for (const spec of chosen) results.push(await measure(spec));
  return results;
}
