/** The shape of bench/results.json (written by run.ts, read by check.ts --from) and the budgets checked on it. */
import type { BundleResult } from './bundle.js';
import type { BurstResult, ChurnResult, HappyResult, ScaleResult, StaggerResult } from './scenarios.js';
import type { SharingResult, SharingSkip } from './sharing.js';

export interface Meta {
  readonly date: string;
  readonly node: string;
  readonly v8: string;
  readonly os: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly versions: Readonly<Record<string, string>>;
  /** Where the run is smaller than issue 5 asks, and why. */
  readonly scaledDown: readonly string[];
  readonly durationS: number;
  /** The sizes each scenario ran with. */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface Results {
  readonly meta: Meta;
  readonly happy: readonly HappyResult[];
  readonly burst: readonly BurstResult[];
  readonly staggered: readonly StaggerResult[];
  readonly churn: readonly ChurnResult[];
  readonly scale: readonly ScaleResult[];
  readonly sharing: readonly (SharingResult | SharingSkip)[];
  readonly bundle: readonly BundleResult[];
}

export interface Verdict {
  readonly budget: string;
  readonly figure: string;
  readonly limit: string;
  readonly pass: boolean;
}

/** How a verdict reads in a table: pass or FAIL. A budget is a budget: there is no third word. */
export function verdictWord(verdict: Verdict): string {
  return verdict.pass ? 'pass' : 'FAIL';
}

/** The verdicts that make `npm run bench:check` fail. */
export function broken(verdicts: readonly Verdict[]): Verdict[] {
  return verdicts.filter((verdict) => !verdict.pass);
}

/** 1 KB = 1,000 bytes, 1 MB = 1,000,000 bytes: the stricter reading of the budgets. */
export const KB = 1000;
export const MB = 1_000_000;

export const budgets = {
  happyRatio: 1.05,
  scaleRatio: 1.5,
  churnHeapBytes: 1 * MB,
} as const;

/** Issue 11: what DPoP may add to `attachRefresh` for apps that never import `axios-token-refresh/dpop`. */
export const dpopCoreBudget = 150;

/** The bundle budgets of issue 12 (min+gzip bytes): our own code, and with p-queue where the row includes it. */
export const bundleBudgets: Readonly<Partial<Record<BundleResult['id'], number>>> = {
  ours: 6_000,
  oursWithPQueue: 10_400,
  oursGrantAlone: 4_000,
  oursGrantWithPQueue: 13_500,
};

const fmt = (value: number, digits = 2): string => value.toFixed(digits);

/** Checks every budget of issue 5 that the given results cover (ours only; the others are reported, not judged). */
export function judge(results: Partial<Results>): Verdict[] {
  const verdicts: Verdict[] = [];
  const ours = results.happy?.find((row) => row.key === 'ours');
  if (ours) {
    for (const [mode, ratio] of [
      ['one at a time', ours.sequentialRatio],
      ['100 in flight', ours.concurrentRatio],
    ] as const) {
      verdicts.push({
        budget: `happy path, ${mode}: ours / hand-written interceptor (CPU time, median of per-round ratios)`,
        figure: `${fmt(ratio, 3)}x`,
        limit: `<= ${budgets.happyRatio}x`,
        pass: ratio <= budgets.happyRatio,
      });
    }
    verdicts.push({
      budget: 'happy path: failed requests',
      figure: String(ours.failures),
      limit: '0',
      pass: ours.failures === 0,
    });
  }
  const flights = [
    ...(results.burst ?? []).map((row) => ({ ...row, scenario: `burst of ${row.requests.toLocaleString('en-US')}` })),
    ...(results.staggered ?? []).map((row) => ({
      ...row,
      scenario: `staggered, ${row.requests.toLocaleString('en-US')} requests`,
    })),
  ].filter((row) => row.key === 'ours');
  for (const row of flights) {
    const expiry = row.expiry === 'server' ? 'server-side expiry' : 'known expiry';
    const problems = [
      row.failed !== 0 ? `${row.failed} failed` : '',
      row.refreshCalls !== 1 ? `${row.refreshCalls} refresh calls` : '',
      row.spentPresented !== 0 ? `${row.spentPresented} spent refresh tokens presented` : '',
      row.expiry === 'known' && row.served401 !== 0 ? `${row.served401} 401s served` : '',
    ].filter(Boolean);
    verdicts.push({
      budget: `${row.scenario} after a ${expiry}: 100% success, 1 refresh, 0 spent tokens${row.expiry === 'known' ? ', 0 401s' : ''}`,
      figure: `${fmt((100 * row.succeeded) / row.requests, 1)}% ok, ${row.refreshCalls} refresh, ${row.spentPresented} spent, ${row.served401} 401s`,
      limit: problems.length === 0 ? 'met' : `broken: ${problems.join(', ')}`,
      pass: problems.length === 0,
    });
  }
  const scale = results.scale?.find((row) => row.key === 'ours');
  if (scale) {
    const first = scale.points[0]!;
    const last = scale.points[scale.points.length - 1]!;
    verdicts.push({
      budget: `scale: CPU µs per request at ${last.requests.toLocaleString('en-US')} / at ${first.requests.toLocaleString('en-US')}`,
      figure: `${fmt(scale.ratio)}x (${fmt(last.perRequestCpuUs, 1)} / ${fmt(first.perRequestCpuUs, 1)} µs)`,
      limit: `<= ${budgets.scaleRatio}x`,
      pass: scale.ratio <= budgets.scaleRatio,
    });
    const failed = scale.points.reduce((sum, point) => sum + point.failed, 0);
    verdicts.push({ budget: 'scale: failed requests', figure: String(failed), limit: '0', pass: failed === 0 });
  }
  const churn = results.churn?.find((row) => row.key === 'ours');
  if (churn) {
    verdicts.push({
      budget: `churn: heap after ${churn.cycles.toLocaleString('en-US')} cycles minus after the first mark (forced GC)`,
      figure: `${fmt(churn.heapDeltaBytes / 1024, 1)} KiB`,
      limit: `< ${budgets.churnHeapBytes.toLocaleString('en-US')} bytes`,
      pass: churn.heapDeltaBytes < budgets.churnHeapBytes,
    });
    verdicts.push({
      budget: 'churn: 0 failures, exactly 1 refresh per cycle, 0 spent tokens',
      figure: `${churn.failed} failed, ${fmt(churn.refreshesPerCycle, 3)} per cycle, ${churn.spentPresented} spent`,
      limit: 'met',
      pass: churn.failed === 0 && churn.refreshCalls === churn.cycles && churn.spentPresented === 0,
    });
  }
  const oursBundle = results.bundle?.find((row) => row.id === 'ours');
  const withoutDpop = results.bundle?.find((row) => row.id === 'oursWithoutDpop');
  if (oursBundle && withoutDpop) {
    const cost = oursBundle.gzipBytes - withoutDpop.gzipBytes;
    verdicts.push({
      budget: "bundle: DPoP's cost in attachRefresh (with minus without its DPoP parts, min+gzip)",
      figure: `${cost.toLocaleString('en-US')} bytes`,
      limit: `<= ${dpopCoreBudget} bytes`,
      pass: cost <= dpopCoreBudget,
    });
  }
  for (const row of results.bundle ?? []) {
    const limit = bundleBudgets[row.id];
    if (limit === undefined) continue;
    verdicts.push({
      budget: `bundle: ${row.label} (min+gzip)`,
      figure: `${row.gzipBytes.toLocaleString('en-US')} bytes`,
      limit: `<= ${limit.toLocaleString('en-US')} bytes`,
      pass: row.gzipBytes <= limit,
    });
  }
  return verdicts;
}
