import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Every ```ts block of the README and of docs/ is type-checked against the BUILT package, so the documentation can't
// show an API that does not exist. Names a snippet uses without declaring come from this prelude.
const prelude: Record<string, string> = {
  axios: "import axios from 'axios';",
  api: "declare const api: import('axios').AxiosInstance;",
  uploads: "declare const uploads: import('axios').AxiosInstance;",
  loadTokens: "declare function loadTokens(): Promise<import('axios-token-refresh').TokenSet | null>;",
  saveTokens: "declare function saveTokens(tokens: import('axios-token-refresh').TokenSet | null): Promise<void>;",
  tokens: "declare const tokens: import('axios-token-refresh').TokenSet;",
  refresh: "declare const refresh: import('axios-token-refresh').RefreshFunction;",
  session: "declare const session: import('axios-token-refresh').TokenSession;",
  redis: "declare const redis: import('ioredis').Redis;",
  showLogin: 'declare function showLogin(): void;',
  showOffline: 'declare function showOffline(retryAfterMs: number | undefined): void;',
  loadOfflineToken: 'declare function loadOfflineToken(): Promise<string>;',
  saveOfflineToken: 'declare function saveOfflineToken(token: string | undefined): Promise<void>;',
  savedRefreshToken: 'declare const savedRefreshToken: string;',
  saveRefreshToken: 'declare function saveRefreshToken(token: string | undefined): Promise<void>;',
  createDpopProof: 'declare function createDpopProof(method: string, url: string): Promise<string>;',
  tokenUrl: 'declare const tokenUrl: string;',
  clientId: 'declare const clientId: string;',
  clientSecret: 'declare const clientSecret: string;',
  loadSavedTokens: "declare function loadSavedTokens(): Promise<import('axios-token-refresh').TokenSet | null>;",
  tokensFromLogin: "declare const tokensFromLogin: import('axios-token-refresh').TokenSet;",
  bootstrapTokens: "declare function bootstrapTokens(): Promise<import('axios-token-refresh').TokenSet | null>;",
  audit: "declare function audit(tokens: import('axios-token-refresh').TokenSet | null): void;",
  loginForm: 'declare const loginForm: URLSearchParams;',
  logIn: "declare function logIn(): Promise<import('axios-token-refresh').TokenSet>;",
  signClientAssertion: 'declare function signClientAssertion(audience: string): Promise<string>;',
};
for (const name of [
  'attachRefresh',
  'createTokenSession',
  'refreshTokenGrant',
  'isTokenRefreshError',
  'TokenRefreshError',
]) {
  prelude[name] = `import { ${name} } from 'axios-token-refresh';`;
}

const dir = join('test', '.readme-examples');

/** README.md and every markdown file under docs/, as repository-relative paths. */
function documents(): string[] {
  const docs = readdirSync('docs', { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name))
    .sort();
  return ['README.md', ...docs];
}

/** A document's text with fenced code blocks blanked out (links and headings inside them are not links or headings). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, ' '));
}

/**
 * The anchors GitHub (and the npm page) give a document's headings: lower case, punctuation dropped, spaces to
 * hyphens, a repeated heading suffixed -1, -2, … Explicit `<a id="…">`/`name` anchors count too.
 */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading = ''] of prose(text).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const plain = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id = ''] of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id);
  return anchors;
}

/** The link targets of a document outside code: `[text](target)`, `![alt](target)`, `<a href>`, `<img src>`. */
function linksOf(text: string): string[] {
  const body = prose(text).replace(/`[^`\n]*`/g, '');
  const markdown = [...body.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
  const html = [...body.matchAll(/<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)"/g)].map((m) => m[1] ?? '');
  return [...markdown, ...html];
}

/**
 * Files that other branches of this round add (the lead merges them). A link to one of them is accepted while it is
 * missing; once the file exists, the test below fails until its name is removed from this list, so the list cannot
 * outlive the merge.
 */
const pendingFiles = new Set<string>([]);

/** Whether `path` ships in the package: npm always includes README and LICENSE; the rest must match `files`. */
function shipped(path: string): boolean {
  const files = (JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] }).files;
  if (/^(README|LICEN[CS]E)(\.|$)/i.test(path) || path === 'package.json') return true;
  return files.some((entry) => path === entry || path.startsWith(`${entry.replace(/\/$/, '')}/`));
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README.md and docs/', () => {
  it('have TypeScript examples that compile against the built package', () => {
    const blocks = documents().flatMap((doc) =>
      [...readFileSync(doc, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m, index) => ({
        name: `${doc.replace(/[/.]/g, '_')}-${index + 1}`,
        code: m[1] ?? '',
      })),
    );
    expect(blocks.length).toBeGreaterThan(10);
    expect(blocks.some((block) => block.name.startsWith('README_md'))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map(({ name, code }) => {
      const declared = (name: string): boolean =>
        new RegExp(`(const|let|function|class)\\s+${name}\\b|import[^;]*\\b${name}\\b[^;]*from`).test(code);
      const header = Object.entries(prelude)
        .filter(([name, line]) => new RegExp(`\\b${name}\\b`).test(code) && !declared(name) && line)
        .map(([, line]) => line);
      const file = join(dir, `${name}.ts`);
      writeFileSync(file, `${header.join('\n')}\n${code}\nexport {};\n`);
      return file;
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { noEmit: true, noUnusedLocals: false, lib: ['ES2022', 'DOM'] },
        include: files.map((f) => f.slice(dir.length + 1)),
      }),
    );
    let output = '';
    try {
      execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', join(dir, 'tsconfig.json')], {
        encoding: 'utf8',
      });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout);
    }
    expect(output).toBe('');
  }, 120_000);

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const doc of documents()) {
      for (const link of linksOf(readFileSync(doc, 'utf8'))) {
        if (/^[a-z][a-z\d+.-]*:/i.test(link)) continue; // absolute (https:, mailto:): not ours to check offline
        const [path = '', anchor] = link.split('#');
        const target = path === '' ? doc : normalize(join(dirname(doc), decodeURIComponent(path)));
        if (!existsSync(target)) {
          if (!pendingFiles.has(target)) broken.push(`${doc}: ${link} (no such file)`);
          continue;
        }
        if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
          broken.push(`${doc}: ${link} (no heading with that anchor in ${target})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('link only to files that ship in the package, so the links work in node_modules and on the npm page', () => {
    const unshipped: string[] = [];
    for (const doc of documents()) {
      expect(shipped(doc), `${doc} ships in the package`).toBe(true);
      for (const link of linksOf(readFileSync(doc, 'utf8'))) {
        if (/^[a-z][a-z\d+.-]*:/i.test(link) || link.startsWith('#')) continue;
        const target = relative('.', normalize(join(dirname(doc), decodeURIComponent(link.split('#')[0] ?? ''))));
        if (!shipped(target.split('\\').join('/'))) unshipped.push(`${doc}: ${link}`);
      }
    }
    expect(unshipped).toEqual([]);
  });

  it('list as pending only files that other branches have not merged yet (remove a name once its file exists)', () => {
    expect([...pendingFiles].filter((path) => existsSync(path))).toEqual([]);
  });

  it('keep the README a front page: at most 18 KB, and no stray comment markers', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(18 * 1024);
    const opened = readme.match(/<!--/g)?.length ?? 0;
    const closed = readme.match(/-->/g)?.length ?? 0;
    expect(closed).toBe(opened);
  });
});
