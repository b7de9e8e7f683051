/**
 * The scenarios of issue 5, each a function of the contenders it runs and its sizes, so that `run.ts` (everyone) and
 * `check.ts` (ours and the baseline) measure the same way.
 */
import type { Contender, ContenderKey, ContenderSpec } from './contenders.js';
import { cpuUs, elapsedUs, median, now, settledHeapBytes, sleep } from './measure.js';
import { SimApi } from './sim-api.js';

const API_PATH = '/api/items';

/** Sends `count` requests, `inFlight` at a time, and returns how many failed. */
async function drive(contender: Contender, count: number, inFlight: number): Promise<number> {
  let failures = 0;
  const http = contender.http;
  if (inFlight <= 1) {
    for (let i = 0; i < count; i++) {
      try {
        await http.get(API_PATH);
      } catch {
        failures++;
      }
    }
    return failures;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      try {
        await http.get(API_PATH);
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return failures;
}

// ---- 1. happy path ----------------------------------------------------------------------------------------------

export interface HappyOptions {
  readonly rounds: number;
  readonly requestsPerRound: number;
  readonly inFlight: number;
  readonly warmupRequests: number;
}

export interface HappyResult {
  readonly key: ContenderKey;
  readonly label: string;
  /** Median wall-clock µs per request, one at a time. */
  readonly sequentialUs: number;
  /** Median CPU µs per request, one at a time. */
  readonly sequentialCpuUs: number;
  /** Median over rounds of (this contender's CPU time / the hand-written interceptor's), same round. */
  readonly sequentialRatio: number;
  /** The same three with `inFlight` requests in flight. */
  readonly concurrentUs: number;
  readonly concurrentCpuUs: number;
  readonly concurrentRatio: number;
  readonly failures: number;
}

interface Sample {
  readonly wallUs: number;
  readonly cpuUs: number;
}

/**
 * Per-request time with a valid token. Contenders alternate within every round (the order rotating round by round),
 * and the ratio to the hand-written interceptor is taken per round. The ratio compares the process's CPU time, not
 * wall time: on a shared machine wall time also counts the time other processes held the CPU, which swamps a 5%
 * difference; CPU time counts only the work done (including V8's GC threads, a real cost of allocating).
 */
export async function happyPath(specs: readonly ContenderSpec[], options: HappyOptions): Promise<HappyResult[]> {
  const api = new SimApi();
  const live: Contender[] = [];
  for (const spec of specs) live.push(await spec.create(api, api.login()));
  const baseline = specs.findIndex((spec) => spec.key === 'handwritten');
  if (baseline < 0) throw new Error('happyPath needs the hand-written interceptor as its baseline');
  for (const contender of live) {
    await drive(contender, options.warmupRequests, 1);
    await drive(contender, options.warmupRequests, options.inFlight);
  }
  const sequential = specs.map((): Sample[] => []);
  const concurrent = specs.map((): Sample[] => []);
  const failures = specs.map(() => 0);
  for (let round = 0; round < options.rounds; round++) {
    for (let turn = 0; turn < specs.length; turn++) {
      const index = (turn + round) % specs.length;
      const contender = live[index]!;
      for (const [samples, inFlight] of [
        [sequential, 1],
        [concurrent, options.inFlight],
      ] as const) {
        const wall = now();
        const cpu = process.cpuUsage();
        failures[index]! += await drive(contender, options.requestsPerRound, inFlight);
        samples[index]!.push({ wallUs: elapsedUs(wall), cpuUs: cpuUs(cpu) });
      }
    }
  }
  for (const contender of live) await contender.dispose();
  const perRequest = (samples: Sample[][], index: number, field: keyof Sample): number =>
    median(samples[index]!.map((sample) => sample[field] / options.requestsPerRound));
  const ratio = (samples: Sample[][], index: number): number =>
    median(samples[index]!.map((sample, round) => sample.cpuUs / samples[baseline]![round]!.cpuUs));
  return specs.map((spec, index) => ({
    key: spec.key,
    label: spec.label,
    sequentialUs: perRequest(sequential, index, 'wallUs'),
    sequentialCpuUs: perRequest(sequential, index, 'cpuUs'),
    sequentialRatio: ratio(sequential, index),
    concurrentUs: perRequest(concurrent, index, 'wallUs'),
    concurrentCpuUs: perRequest(concurrent, index, 'cpuUs'),
    concurrentRatio: ratio(concurrent, index),
    failures: failures[index]!,
  }));
}

// ---- 2. burst ---------------------------------------------------------------------------------------------------

/** `server`: the server killed the token, its `exp` is still ahead. `known`: the token's JWT `exp` has passed. */
export type ExpiryKind = 'server' | 'known';

export interface OutcomeCounts {
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  /** 401 responses the API served. */
  readonly served401: number;
  /** Calls to the token endpoint, whatever their outcome. */
  readonly refreshCalls: number;
  /** Refresh tokens presented after they had been spent. */
  readonly spentPresented: number;
  /** Whether the authorization server revoked the grant (reuse detected): the user is logged out. */
  readonly revoked: boolean;
}

export interface BurstResult extends OutcomeCounts {
  readonly key: ContenderKey;
  readonly label: string;
  readonly expiry: ExpiryKind;
  readonly wallMs: number;
}

function outcome(api: SimApi, requests: number, failed: number, firstRefreshToken: string): OutcomeCounts {
  return {
    requests,
    succeeded: requests - failed,
    failed,
    served401: api.counters.served401,
    refreshCalls: api.counters.refreshCalls,
    spentPresented: api.counters.spentPresented,
    revoked: api.isRevoked(firstRefreshToken),
  };
}

/** Lets refresh calls that were still under way when the last request settled reach the counters. */
async function drain(api: SimApi): Promise<void> {
  await sleep(api.tokenLatencyMs * 3 + 10);
}

/**
 * `requests` concurrent requests after an expiry: `server` — the server killed the access token although its `exp` is
 * an hour ahead (the client cannot know); `known` — the access token's JWT `exp` passed a second ago.
 */
export async function burst(
  spec: ContenderSpec,
  requests: number,
  expiry: ExpiryKind,
  tokenLatencyMs = 2,
): Promise<BurstResult> {
  const api = new SimApi({ tokenLatencyMs });
  const tokens = api.login(expiry === 'known' ? -1 : 3600);
  const contender = await spec.create(api, tokens);
  if (expiry === 'server') api.expireAccessTokens();
  api.reset();
  const start = now();
  const settled = await Promise.allSettled(Array.from({ length: requests }, () => contender.http.get(API_PATH)));
  const wallMs = elapsedUs(start) / 1000;
  await drain(api);
  const failed = settled.filter((result) => result.status === 'rejected').length;
  await contender.dispose();
  return { key: spec.key, label: spec.label, expiry, wallMs, ...outcome(api, requests, failed, tokens.refresh_token) };
}

// ---- 3. staggered -----------------------------------------------------------------------------------------------

export interface StaggerOptions {
  readonly durationMs: number;
  readonly waveEveryMs: number;
  readonly waveSize: number;
  readonly tokenLatencyMs: number;
}

export interface StaggerResult extends OutcomeCounts {
  readonly key: ContenderKey;
  readonly label: string;
  readonly expiry: ExpiryKind;
}

/**
 * Steady traffic (a wave of `waveSize` requests every `waveEveryMs`, responses not awaited) across an expiry:
 * `server` — the server kills the access token halfway; `known` — the token's JWT `exp` falls about 600 ms into the
 * run, and the server refuses the token from then on (plugins that read `exp` can refresh before).
 */
export async function staggered(
  spec: ContenderSpec,
  expiry: ExpiryKind,
  options: StaggerOptions,
): Promise<StaggerResult> {
  const api = new SimApi({ tokenLatencyMs: options.tokenLatencyMs });
  if (expiry === 'known') {
    // `exp` has whole seconds: start 400 ms into a second so that a 1 s lifetime ends 600 ms into the run.
    await sleep((1400 - (Date.now() % 1000)) % 1000);
  }
  const tokens = api.login(expiry === 'known' ? 1 : 3600);
  const contender = await spec.create(api, tokens);
  api.reset();
  const pending: Promise<unknown>[] = [];
  let failed = 0;
  const start = Date.now();
  let expired = false;
  while (Date.now() - start < options.durationMs) {
    if (expiry === 'server' && !expired && Date.now() - start >= options.durationMs / 2) {
      api.expireAccessTokens();
      expired = true;
    }
    // A handler from the start: a rejection must not wait for the end of the run to be handled.
    for (let i = 0; i < options.waveSize; i++) {
      pending.push(contender.http.get(API_PATH).catch(() => void failed++));
    }
    await sleep(options.waveEveryMs);
  }
  await Promise.all(pending);
  await drain(api);
  await contender.dispose();
  return { key: spec.key, label: spec.label, expiry, ...outcome(api, pending.length, failed, tokens.refresh_token) };
}

// ---- 4. churn ---------------------------------------------------------------------------------------------------

export interface ChurnOptions {
  readonly cycles: number;
  readonly requestsPerCycle: number;
  /** Cycle counts after which the heap is read (after forced full GCs). */
  readonly heapMarks: readonly number[];
}

export interface ChurnResult {
  readonly key: ContenderKey;
  readonly label: string;
  readonly cycles: number;
  readonly requestsPerCycle: number;
  readonly failed: number;
  readonly refreshCalls: number;
  readonly refreshesPerCycle: number;
  readonly spentPresented: number;
  readonly revoked: boolean;
  /** Heap bytes at each mark, in the order of `heapMarks`. */
  readonly heapBytes: readonly number[];
  /** Last mark minus first mark, bytes. */
  readonly heapDeltaBytes: number;
  readonly wallMs: number;
}

/**
 * `cycles` times: the server kills the access token, then `requestsPerCycle` concurrent requests run into it. The
 * token endpoint answers on the next turn of the event loop, so the run measures the plugin, not timers.
 */
export async function churn(spec: ContenderSpec, options: ChurnOptions): Promise<ChurnResult> {
  const api = new SimApi({ tokenLatencyMs: 0 });
  const tokens = api.login();
  const contender = await spec.create(api, tokens);
  api.reset();
  let failed = 0;
  const heapBytes: number[] = [];
  const start = now();
  for (let cycle = 1; cycle <= options.cycles; cycle++) {
    api.expireAccessTokens();
    const requests: Promise<unknown>[] = [];
    for (let i = 0; i < options.requestsPerCycle; i++) requests.push(contender.http.get(API_PATH));
    for (const result of await Promise.allSettled(requests)) if (result.status === 'rejected') failed++;
    if (options.heapMarks.includes(cycle)) heapBytes.push(await settledHeapBytes());
  }
  const wallMs = elapsedUs(start) / 1000;
  await drain(api);
  await contender.dispose();
  return {
    key: spec.key,
    label: spec.label,
    cycles: options.cycles,
    requestsPerCycle: options.requestsPerCycle,
    failed,
    refreshCalls: api.counters.refreshCalls,
    refreshesPerCycle: api.counters.refreshCalls / options.cycles,
    spentPresented: api.counters.spentPresented,
    revoked: api.isRevoked(tokens.refresh_token),
    heapBytes,
    heapDeltaBytes: heapBytes.length >= 2 ? heapBytes[heapBytes.length - 1]! - heapBytes[0]! : Number.NaN,
    wallMs,
  };
}

// ---- 5. scale ---------------------------------------------------------------------------------------------------

export interface ScalePoint {
  readonly requests: number;
  readonly repeats: number;
  /** Median wall-clock µs per request (the burst's wall time / its size). */
  readonly perRequestUs: number;
  /** Median CPU µs per request (the process's CPU time during the burst / its size). */
  readonly perRequestCpuUs: number;
  readonly failed: number;
  readonly refreshCalls: number;
}

export interface ScaleResult {
  readonly key: ContenderKey;
  readonly label: string;
  /** What ran: a burst after a server-side expiry, or (for the floor) the same burst with a valid token. */
  readonly what: string;
  readonly points: readonly ScalePoint[];
  /** CPU µs per request at the largest size over that at the smallest: the cost, whatever else ran on the machine. */
  readonly ratio: number;
  /** The same with wall-clock time. */
  readonly wallRatio: number;
}

/**
 * The burst after a server-side expiry at several sizes (the token endpoint answers on the next turn, so fixed
 * latency does not flatter the small sizes). `expire: false` runs the same burst with a valid token: axios's own
 * growth, for reference.
 */
export async function scale(
  spec: ContenderSpec,
  sizes: readonly { readonly requests: number; readonly repeats: number }[],
  expire = true,
): Promise<ScaleResult> {
  const once = async (requests: number): Promise<Sample & { failed: number; refreshCalls: number }> => {
    const api = new SimApi({ tokenLatencyMs: 0 });
    const contender = await spec.create(api, api.login());
    if (expire) api.expireAccessTokens();
    api.reset();
    // No forced GC before the run: V8 finishes a forced full GC on its helper threads and shrinks the young
    // generation, which charges a fixed ~30 ms to the next run and would flatter the large sizes. Garbage left by
    // the previous run is collected on this run's time instead, as in an app.
    const wall = now();
    const cpu = process.cpuUsage();
    const settled = await Promise.allSettled(Array.from({ length: requests }, () => contender.http.get(API_PATH)));
    const sample = { wallUs: elapsedUs(wall) / requests, cpuUs: cpuUs(cpu) / requests };
    await contender.dispose();
    const failed = settled.filter((result) => result.status === 'rejected').length;
    return { ...sample, failed, refreshCalls: api.counters.refreshCalls };
  };
  // Untimed, so that the smallest size is not the one that pays for compilation.
  for (let warmup = 0; warmup < 3; warmup++) await once(sizes[0]?.requests ?? 1000);
  const points: ScalePoint[] = [];
  for (const { requests, repeats } of sizes) {
    const samples: Sample[] = [];
    let failed = 0;
    let refreshCalls = 0;
    for (let repeat = 0; repeat < repeats; repeat++) {
      const run = await once(requests);
      samples.push(run);
      failed += run.failed;
      refreshCalls += run.refreshCalls;
    }
    points.push({
      requests,
      repeats,
      perRequestUs: median(samples.map((sample) => sample.wallUs)),
      perRequestCpuUs: median(samples.map((sample) => sample.cpuUs)),
      failed,
      refreshCalls,
    });
  }
  return {
    key: spec.key,
    label: spec.label,
    what: expire ? 'burst after a server-side expiry' : 'burst with a valid token',
    points,
    ratio: points[points.length - 1]!.perRequestCpuUs / points[0]!.perRequestCpuUs,
    wallRatio: points[points.length - 1]!.perRequestUs / points[0]!.perRequestUs,
  };
}
