import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createFileTokenStore } from '../../src/file.js';
import { parseStoredRecord } from '../../src/store.js';
import { INITIAL, startTokenApi } from './support/token-api.js';
import type { TokenApi } from './support/token-api.js';
import { bundleNodeScript } from './support/node-bundle.js';

const WORKER_SOURCE = fileURLToPath(new URL('./fleet/file-worker.ts', import.meta.url));
const WRITER_SOURCE = fileURLToPath(new URL('./fleet/file-writer.ts', import.meta.url));
const PROCESSES = 20;
const REQUESTS_EACH = 25;
const EXPIRIES = 3;
const ACCESS_TTL_MS = 4000;

interface Done {
  readonly type: 'done';
  readonly burst: number;
  readonly ok: number;
  readonly failures: string[];
  readonly accessToken: string | null;
  readonly onTokensCalls: number;
  readonly tokenEvents: (string | null)[];
}

interface Worker {
  readonly id: string;
  readonly child: ChildProcess;
  /** Resolves with the next message of `type`, or null when the process died first. */
  next<T>(type: string): Promise<T | null>;
}

function countByCode(failures: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const code of failures) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let workDir: string;
let workerFile: string;
let writerFile: string;
let api: TokenApi | undefined;
let workers: Worker[] = [];
let files = 0;
const nextFile = (): string => join(workDir, `login-${(files += 1)}`, 'tokens.json');

beforeAll(async () => {
  // One file with the built package (dist/, reached through its package name): plain Node processes start fast.
  workDir = await mkdtemp(join(tmpdir(), 'axios-token-refresh-file-e2e-'));
  workerFile = join(workDir, 'file-worker.mjs');
  writerFile = join(workDir, 'file-writer.mjs');
  for (const [source, outfile] of [
    [WORKER_SOURCE, workerFile],
    [WRITER_SOURCE, writerFile],
  ] as const) {
    await bundleNodeScript(source, outfile);
  }
});

afterEach(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  workers = [];
  await api?.close();
  api = undefined;
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Forks one worker on `tokenFile` and waits until it is ready. */
async function startWorker(id: string, tokenFile: string, env: Record<string, string> = {}): Promise<Worker> {
  const child = fork(workerFile, [], {
    env: { ...process.env, WORKER_ID: id, TOKEN_FILE: tokenFile, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string): Promise<T | null> =>
    new Promise((resolve) => {
      const onMessage = (message: { type: string }): void => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (): void => {
        child.off('message', onMessage);
        resolve(null);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = next('ready');
  const worker = { id, child, next };
  workers.push(worker);
  if ((await ready) === null) throw new Error(`${id} exited before it was ready`);
  return worker;
}

async function startFleet(count: number, tokenFile: string, env: Record<string, string>): Promise<Worker[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => startWorker(`worker-${index}`, tokenFile, env)));
}

/** Stores the grant's first tokens, as the process that logged in would. */
async function seed(tokenFile: string): Promise<void> {
  const store = createFileTokenStore({ path: tokenFile });
  expect(await store.write(INITIAL, 0)).not.toBeNull();
  await store.close();
}

async function burst(fleet: readonly Worker[], number: number): Promise<(Done | null)[]> {
  const results = fleet.map((worker) => worker.next<Done>('done'));
  for (const worker of fleet) worker.child.send({ type: 'go', burst: number, requests: REQUESTS_EACH });
  return Promise.all(results);
}

describe('createFileTokenStore() shared by 20 Node processes (one file, built package, rotating token server)', () => {
  it('makes exactly one refresh per expiry for bursts across 3 expiries, and every request succeeds', async () => {
    api = await startTokenApi();
    const tokenFile = nextFile();
    await seed(tokenFile);
    const fleet = await startFleet(PROCESSES, tokenFile, { API_URL: api.url, ACCESS_TTL_MS: String(ACCESS_TTL_MS) });

    const started = performance.now();
    let done: Done[] = [];
    for (let expiry = 1; expiry <= EXPIRIES; expiry += 1) {
      // The first burst meets the seeded token, which the server answers with 401; the later ones meet tokens whose
      // expiresAt has passed.
      if (expiry > 1) await sleep(ACCESS_TTL_MS + 300);
      const results = await burst(fleet, expiry);
      expect(results.every((result) => result !== null)).toBe(true);
      done = results as Done[];
      expect(countByCode(done.flatMap((result) => result.failures))).toEqual({});
      expect(done.reduce((sum, result) => sum + result.ok, 0)).toBe(PROCESSES * REQUESTS_EACH);
      expect(api.rotations()).toBe(expiry);
    }
    const wallMs = Math.round(performance.now() - started);

    expect(api.refreshRequests.map((r) => [r.refreshToken, r.outcome])).toEqual([
      ['refresh-0', 'rotated'],
      ['refresh-1', 'rotated'],
      ['refresh-2', 'rotated'],
    ]);
    expect(api.revoked()).toBe(false);
    expect(api.api.ok).toBe(EXPIRIES * PROCESSES * REQUESTS_EACH);
    expect(done.map((result) => result.accessToken)).toEqual(Array(PROCESSES).fill('access-3'));
    expect(done.reduce((sum, result) => sum + result.onTokensCalls, 0)).toBe(EXPIRIES);
    expect(done.map((result) => result.tokenEvents.at(-1))).toEqual(Array(PROCESSES).fill('access-3'));
    // The file holds secrets: only its owner may read it, even after 3 rotations by 20 processes.
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(parseStoredRecord(await readFile(tokenFile, 'utf8'))).toMatchObject({ record: { version: 4 } });
    console.info(
      `[e2e file store] ${PROCESSES} processes × ${REQUESTS_EACH} requests × ${EXPIRIES} expiries: ` +
        `${api.rotations()} refreshes, ${api.api.unauthorized} answered 401, ${wallMs} ms`,
    );
  });

  it('recovers within the lease when the process holding the lock is killed mid-refresh (SIGKILL)', async () => {
    api = await startTokenApi();
    const tokenFile = nextFile();
    await seed(tokenFile);
    const fleet = await startFleet(8, tokenFile, { API_URL: api.url, REFRESH_TIMEOUT_MS: '3000' });
    let killedAt = 0;
    let leaseLeftMs = 0;
    let killed: Worker | undefined;
    api.hangNextRefresh((client) => {
      killed = fleet.find((worker) => worker.id === client);
      killedAt = performance.now();
      void readFile(`${tokenFile}.lock`, 'utf8').then((text) => {
        leaseLeftMs = (JSON.parse(text) as { expiresAt: number }).expiresAt - Date.now();
      });
      killed?.child.kill('SIGKILL');
    });

    const results = await burst(fleet, 1);
    const recoveryMs = Math.round(performance.now() - killedAt);

    expect(killed).toBeDefined();
    const survivors = results.filter((result): result is Done => result !== null);
    expect(survivors).toHaveLength(fleet.length - 1);
    expect(countByCode(survivors.flatMap((result) => result.failures))).toEqual({});
    expect(survivors.reduce((sum, result) => sum + result.ok, 0)).toBe((fleet.length - 1) * REQUESTS_EACH);
    // The dead holder's refresh never completed, so presenting refresh-0 again is no reuse; one rotation in all.
    expect(api.refreshRequests.map((r) => r.outcome)).toEqual(['abandoned', 'rotated']);
    expect(api.revoked()).toBe(false);
    expect(survivors.map((result) => result.accessToken)).toEqual(Array(fleet.length - 1).fill('access-1'));
    expect(leaseLeftMs).toBeGreaterThan(0);
    expect(recoveryMs).toBeLessThan(leaseLeftMs + 5000);
    console.info(
      `[e2e file store] holder killed with ${leaseLeftMs} ms of lease left; survivors done ${recoveryMs} ms after the kill`,
    );
  });

  it('never lets two of 8 processes hold the lock when they all find the same stale lock at once (20 rounds)', async () => {
    const tokenFile = nextFile();
    await seed(tokenFile);
    const fleet = await startFleet(8, tokenFile, {});
    const spans: { start: number; end: number }[] = [];
    for (let round = 0; round < 20; round += 1) {
      // A lease that ran out, held by a process on another machine: everyone may take it over, only one may win.
      await writeFile(
        `${tokenFile}.lock`,
        JSON.stringify({ owner: `${round}`.padStart(32, 'a'), pid: 1, host: 'elsewhere', expiresAt: Date.now() - 1 }),
        { mode: 0o600 },
      );
      const grabbed = fleet.map((worker) => worker.next<{ start: number; end: number; error?: string }>('grabbed'));
      for (const worker of fleet) worker.child.send({ type: 'grab', round, holdMs: 20 });
      for (const result of await Promise.all(grabbed)) {
        expect(result?.error).toBeUndefined();
        spans.push({ start: result!.start, end: result!.end });
      }
    }
    spans.sort((x, y) => x.start - y.start);
    const overlaps = spans.filter((span, i) => i > 0 && span.start < spans[i - 1]!.end);
    expect(spans).toHaveLength(20 * 8);
    expect(overlaps).toEqual([]);
  });

  it('never leaves a torn file: 1,000 writers killed (SIGKILL) at random moments while writing, every read parses', async () => {
    const tokenFile = nextFile();
    await seed(tokenFile);
    const KILLS = 1000;
    const SLOTS = 6;
    let kills = 0;
    let reads = 0;
    const problems: string[] = [];
    const started = performance.now();
    // A test that times out must not leave its slots forking writers (one outlived a timed-out run by 25 minutes).
    let stopped = false;
    const live = new Set<ChildProcess>();
    onTestFinished(() => {
      stopped = true;
      for (const child of live) child.kill('SIGKILL');
    });
    const slot = async (): Promise<void> => {
      while (kills < KILLS && !stopped) {
        kills += 1;
        const child = fork(writerFile, [tokenFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        live.add(child);
        const exited = new Promise((resolve) => child.once('exit', resolve)).finally(() => live.delete(child));
        // Killed once it has written at least once (so that it holds the write lock at times), 0-10 ms later.
        await Promise.race([new Promise((resolve) => child.once('message', resolve)), exited]);
        await sleep(Math.random() * 10);
        child.kill('SIGKILL');
        await exited;
        const parsed = parseStoredRecord(await readFile(tokenFile, 'utf8'));
        reads += 1;
        if ('problem' in parsed) problems.push(parsed.problem);
      }
    };
    await Promise.all(Array.from({ length: SLOTS }, () => slot()));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThanOrEqual(KILLS);
    const store = createFileTokenStore({ path: tokenFile });
    const { version } = await store.read();
    await store.close();
    expect(version).toBeGreaterThan(KILLS);
    console.info(
      `[e2e file store] ${reads} writers killed mid-write, every read parsed (last version ${version}), ${seconds} s`,
    );
  }, 180_000);
});
