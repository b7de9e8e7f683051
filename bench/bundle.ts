/**
 * Scenario 6: what a browser app ships, measured with esbuild (bundle, minify, platform browser, ESM) and node:zlib
 * gzip. axios is always external: the app has it anyway.
 */
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { build, type Plugin } from 'esbuild';

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
  /** Where the minified bytes come from: one row per source file of this package (`src/…`), largest first. */
  readonly modules?: readonly ModuleShare[];
  /**
   * Min+gzip bytes of the same bundle with every message emptied (string and template literals that contain a space):
   * what the logic weighs without its words.
   */
  readonly gzipBytesWithoutMessages?: number;
}

/** One source file's share of a bundle. */
export interface ModuleShare {
  readonly module: string;
  /** Minified bytes it contributes. */
  readonly minBytes: number;
}

/**
 * The code with every message emptied: the text of each string or template literal that contains a space. A
 * template's substitutions are code, so they stay (`${describe(value)}`); only its text goes. Literals are found with
 * TypeScript's parser, so a quote inside a regular expression literal is not mistaken for one. An estimate still: a
 * literal with a space is taken for a message.
 */
async function withoutMessages(code: string): Promise<string> {
  // Loaded here, not at the top: the timing scenarios run in the same process, and a loaded compiler weighs on them.
  const ts = (await import('typescript')).default;
  const file = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: [start: number, end: number, text: string][] = [];
  const visit = (node: import('typescript').Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      if (node.text.includes(' ')) edits.push([node.getStart(file), node.getEnd(), '""']);
      return;
    }
    if (ts.isTemplateExpression(node)) {
      const parts = [node.head, ...node.templateSpans.map((span) => span.literal)];
      if (parts.some((part) => part.text.includes(' '))) {
        // `text${ → `${, }text${ → }${, }text` → }`
        edits.push([node.head.getStart(file), node.head.getEnd(), '`${']);
        for (const span of node.templateSpans) {
          const tail = ts.isTemplateTail(span.literal);
          edits.push([span.literal.getStart(file), span.literal.getEnd(), tail ? '}`' : '}${']);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let stripped = code;
  for (const [start, end, text] of edits.sort((a, b) => b[0] - a[0])) {
    stripped = `${stripped.slice(0, start)}${text}${stripped.slice(end)}`;
  }
  return stripped;
}

export type BundleId =
  | 'ours'
  | 'oursWithPQueue'
  | 'oursWithoutDpop'
  | 'oursGrantAlone'
  | 'oursGrant'
  | 'oursGrantWithPQueue'
  | 'oursDpop'
  | 'axiosAuthRefresh'
  | 'axiosJwt'
  | 'axios';

interface BundleSpec {
  readonly id: BundleId;
  readonly label: string;
  readonly short: string;
  readonly entry: string;
  readonly external: readonly string[];
  /** Source edits applied while bundling (a variant of our code, for a comparison). */
  readonly plugins?: readonly Plugin[];
}

/**
 * `attachRefresh` as it would be without DPoP, to measure what DPoP costs the core (issue 11: at most 150 B): the
 * `dpop` option, the hook that lets `axios-token-refresh/dpop` install its interceptors, the DPoP part of the redirect
 * guard, and the RFC 7235 challenge reader, replaced by the Bearer-only reader the core had before. Every edit must
 * find its text, so that a refactoring cannot make this silently measure the wrong thing.
 */
const withoutDpop: Plugin = {
  name: 'without-dpop',
  setup(build) {
    const edits: Record<string, readonly [RegExp | string, string][]> = {
      'attach.ts': [
        [/challengeAllowsRefresh\(([^;]*?), session\.dpop\)/, 'challengeAllowsRefresh($1)'],
        [/\n\s*const uninstallDpop = session\.dpop\?\.install\(instance, resend\);/, ''],
        [/\n\s*uninstallDpop\?\.\(\);/, ''],
      ],
      'session.ts': [
        [/\n\s*'dpop',/, ''],
        [/this\.dpop = [^;]*;/, ''],
        [/\n\s*\(options as [^)]*\)\.dpop \?\?= [^;]*;/, ''],
        [/\n\s*\['dpop', [^\n]*\],/, ''],
      ],
      'redirect-guard.ts': [['/^(authorization|dpop)$/i', '/^authorization$/i']],
    };
    const bearerOnly = [
      'export function challengeAllowsRefresh(header: unknown): boolean {',
      "  if (typeof header !== 'string' && !Array.isArray(header)) return true;",
      "  const text = Array.isArray(header) ? header.join(', ') : header;",
      '  const code = /(?:^|[\\s,])error\\s*=\\s*"?([A-Za-z_]+)"?/.exec(text)?.[1]?.toLowerCase();',
      "  return code !== 'insufficient_scope' && code !== 'invalid_request';",
      '}',
    ].join('\n');
    build.onLoad({ filter: /[\\/]src[\\/](attach|session|redirect-guard|challenge)\.ts$/ }, async (args) => {
      const name = args.path.split(/[\\/]/).pop() as string;
      if (name === 'challenge.ts') return { contents: bearerOnly, loader: 'ts' };
      let contents = await readFile(args.path, 'utf8');
      for (const [find, replace] of edits[name] ?? []) {
        const next = contents.replace(find, replace);
        if (next === contents) throw new Error(`bench without-dpop: ${String(find)} not found in src/${name}`);
        contents = next;
      }
      return { contents, loader: 'ts' };
    });
  },
};

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
    id: 'oursGrantAlone',
    label: 'axios-token-refresh: refreshTokenGrant, deps external',
    short: 'refreshTokenGrant alone',
    entry: 'ours-grant',
    external: ['axios', 'p-queue'],
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
    id: 'oursWithoutDpop',
    label: "axios-token-refresh: attachRefresh without its DPoP parts, deps external (for DPoP's cost)",
    short: 'ours without DPoP',
    entry: 'ours-attach',
    external: ['axios', 'p-queue'],
    plugins: [withoutDpop],
  },
  {
    // The `/dpop` entry's own bytes: what an app adds by importing createDpop beside attachRefresh (challenge.ts and
    // validate.ts, which it shares with the core, are counted here as well).
    id: 'oursDpop',
    label: 'axios-token-refresh/dpop: createDpop, deps external',
    short: 'ours /dpop entry',
    entry: 'ours-dpop',
    external: ['axios', 'p-queue'],
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
    metafile: true,
    external: [...spec.external],
    plugins: [...(spec.plugins ?? [])],
    // What browser bundlers substitute; axios-jwt reads it at load time.
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const code = output.outputFiles[0]!.contents;
  const result: BundleResult = {
    id: spec.id,
    label: spec.label,
    short: spec.short,
    external: spec.external,
    minBytes: code.byteLength,
    gzipBytes: gzipSync(code, { level: 9 }).byteLength,
  };
  if (!spec.id.startsWith('ours')) return result;
  const inputs = Object.values(output.metafile.outputs)[0]?.inputs ?? {};
  const modules = Object.entries(inputs)
    .filter(([path, input]) => path.startsWith('src/') && input.bytesInOutput > 0)
    .map(([path, input]) => ({ module: path, minBytes: input.bytesInOutput }))
    .sort((a, b) => b.minBytes - a.minBytes);
  const stripped = await withoutMessages(new TextDecoder().decode(code));
  return { ...result, modules, gzipBytesWithoutMessages: gzipSync(stripped, { level: 9 }).byteLength };
}

/** Measures the given bundles (all by default). */
export async function bundleSizes(ids?: readonly BundleId[]): Promise<BundleResult[]> {
  const chosen = ids === undefined ? specs : specs.filter((spec) => ids.includes(spec.id));
  const results: BundleResult[] = [];
  for (const spec of chosen) results.push(await measure(spec));
  return results;
}
