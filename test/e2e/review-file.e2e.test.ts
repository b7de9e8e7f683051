// review-file: docs/file-store.md followed literally, with real processes (the built package, a rotating token server
// with reuse detection). Failing tests here are findings of the adversarial review of the file store (issue 14).
import { fork, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFileTokenStore } from '../../src/file.js';
import { startTokenApi } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';
import { bundleNodeScript } from './support/node-bundle.js';

const DOC = fileURLToPath(new URL('../../docs/file-store.md', import.meta.url));
const DIST_FILE = fileURLToPath(new URL('../../dist/file.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let workDir: string;
let cliFile: string;
let api: TokenApi | undefined;

/** The recipe's ```ts block, as a user would copy it; only the example hosts and `browserLogin` are filled in. */
async function recipeSource(): Promise<string> {
  const markdown = await readFile(DOC, 'utf8');
  const section = markdown.slice(markdown.indexOf('## Recipe: a CLI'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('docs/file-store.md: no recipe code block');
  const login = 'declare function browserLogin(): Promise<TokenSet>; // your OAuth authorization-code + PKCE flow';
  expect(block).toContain(login);
  return block
    .replace(
      login,
      "const browserLogin = async (): Promise<TokenSet> => ({ accessToken: 'access-0', refreshToken: 'refresh-0' });",
    )
    .replaceAll("'https://api.example.com'", 'process.env.API_BASE')
    .replaceAll("'https://auth.example.com/oauth/token'", 'process.env.TOKEN_URL!');
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'axios-token-refresh-review-file-'));
  const source = join(fileURLToPath(new URL('.', import.meta.url)), 'review-file-recipe.generated.ts');
  await writeFile(source, await recipeSource());
  cliFile = join(workDir, 'my-cli.mjs');
  try {
    await bundleNodeScript(source, cliFile);
  } finally {
    await rm(source, { force: true });
  }
});

afterEach(async () => {
  await api?.close();
  api = undefined;
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `my-cli <command>` with its own HOME (the recipe keeps the tokens under ~/.config/my-cli). */
function cli(command: string, home: string, url: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliFile, command], {
      env: { ...process.env, HOME: home, API_BASE: `${url}/api`, TOKEN_URL: `${url}/token` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('docs/file-store.md recipe, run literally: `my-cli login`, then parallel `my-cli whoami`', () => {
  it('logs in once, and 8 runs at once, 3 times over, all succeed with one refresh per expiry and no spent token', async () => {
    api = await startTokenApi();
    const home = await mkdtemp(join(workDir, 'home-'));
    const login = await cli('login', home, api.url);
    expect(login.code, login.stderr).toBe(0);
    const runs: Run[] = [];
    for (let round = 0; round < 3; round += 1) {
      if (round > 0) api.expireAccess();
      runs.push(...(await Promise.all(Array.from({ length: 8 }, () => cli('whoami', home, api!.url)))));
    }
    const failed = runs.filter((run) => run.code !== 0).map((run) => run.stderr.split('\n').slice(0, 3).join(' | '));
    expect(failed).toEqual([]);
    expect(api.revoked()).toBe(false);
    expect(api.rotations()).toBe(3);
  }, 180_000);
});

describe('docs/file-store.md recipe, run literally: `my-cli whoami` with no usable login', () => {
  for (const [what, file] of [
    ['before any login (no token file)', undefined],
    ['with a corrupt token file', '{"version":1,"tokens":{"accessToken":7}}'],
  ] as const) {
    it(`${what}: says "Please run \`my-cli login\`." and exits 1, instead of dying on an uncaught 401`, async () => {
      api = await startTokenApi();
      const home = await mkdtemp(join(workDir, 'home-'));
      if (file !== undefined) {
        await mkdir(join(home, '.config', 'my-cli'), { recursive: true });
        await writeFile(join(home, '.config', 'my-cli', 'tokens.json'), file, { mode: 0o600 });
      }
      const run = await cli('whoami', home, api.url);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('Please run `my-cli login`.');
      expect(run.stderr).not.toContain('triggerUncaughtException');
    });
  }
});

describe('createFileTokenStore(): writers killed mid-write (SIGKILL), then a logout', () => {
  it('leaves no copy of a refresh token anywhere in the directory once the file says logged out', async () => {
    const dir = join(workDir, 'killed-writers');
    await mkdir(dir);
    const tokenFile = join(dir, 'tokens.json');
    const writer = join(workDir, 'writer.mjs');
    // A process that stores freshly rotated tokens in a loop, as a CLI does after each refresh, until it is killed.
    await writeFile(
      writer,
      `const { createFileTokenStore } = await import(${JSON.stringify(DIST_FILE)});
const store = createFileTokenStore({ path: process.argv[2] });
const extra = { padding: 'x'.repeat(32768) };
let announced = false;
for (;;) {
  const { version } = await store.read();
  const written = await store.write({ accessToken: 'access-' + (version + 1), refreshToken: 'live-refresh-' + (version + 1), extra }, version);
  if (written !== null && !announced) { announced = true; process.send({ type: 'writing' }); }
}
`,
    );
    const leftovers = async (): Promise<string[]> =>
      (await readdir(dir)).filter(
        (name) => name.startsWith('tokens.json.') && name.endsWith('.tmp') && !name.includes('lock'),
      );
    for (let kill = 0; kill < 300 && (await leftovers()).length === 0; kill += 1) {
      const child = fork(writer, [tokenFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await Promise.race([new Promise((resolve) => child.once('message', resolve)), exited]);
      await sleep(Math.random() * 10);
      child.kill('SIGKILL');
      await exited;
    }
    expect((await leftovers()).length).toBeGreaterThan(0); // the precondition: a writer died between open and rename
    // The user logs out (the session writes null, ended 'logout'); another write of tokens would do as well.
    const store = createFileTokenStore({ path: tokenFile });
    const { version } = await store.read();
    expect(await store.write(null, version, 'logout')).not.toBeNull();
    await store.close();
    const holding: string[] = [];
    for (const name of await readdir(dir)) {
      if ((await readFile(join(dir, name), 'utf8')).includes('live-refresh-'))
        holding.push(name.replace(/[0-9a-f]{32}/, '<random>'));
    }
    expect(holding).toEqual([]);
  }, 120_000);
});
