import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Every ```ts block of the README is type-checked against the BUILT package, so the README can't document an API
// that does not exist. Names a snippet uses without declaring come from this prelude.
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
};
for (const name of ['attachRefresh', 'createTokenSession', 'refreshTokenGrant', 'isTokenRefreshError', 'TokenRefreshError']) {
  prelude[name] = `import { ${name} } from 'axios-token-refresh';`;
}

const dir = join('test', '.readme-examples');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README.md', () => {
  it('has TypeScript examples that compile against the built package', () => {
    const readme = readFileSync('README.md', 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThan(3);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((code, index) => {
      const declared = (name: string): boolean =>
        new RegExp(`(const|let|function|class)\\s+${name}\\b|import[^;]*\\b${name}\\b[^;]*from`).test(code);
      const header = Object.entries(prelude)
        .filter(([name, line]) => new RegExp(`\\b${name}\\b`).test(code) && !declared(name) && line)
        .map(([, line]) => line);
      const file = join(dir, `example-${index + 1}.ts`);
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
});
