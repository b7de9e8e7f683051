/**
 * `npm run bench`: every scenario of issue 5 for every contender, in one process. Prints the tables and writes
 * bench/results.md, bench/results.svg and bench/results.json (what `npm run bench:check --from` can read).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, type, release, arch } from 'node:os';
import { bundleSizes } from './bundle.js';
import { contenders, refreshingContenders } from './contenders.js';
import { markdownReport, stdoutReport, svgChart } from './report.js';
import { judge } from './results.js';
import type { Meta, Results } from './results.js';
import { burst, churn, happyPath, scale, staggered } from './scenarios.js';
import type { BurstResult, ChurnResult, ScaleResult, StaggerResult } from './scenarios.js';
import { settings } from './settings.js';
import { sharingModes } from './sharing.js';

const here = (file: string): URL => new URL(file, import.meta.url);

function versionOf(name: string): string {
  const manifest = JSON.parse(readFileSync(here(`../node_modules/${name}/package.json`), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function ourVersion(): string {
  const { version } = JSON.parse(readFileSync(here('../package.json'), 'utf8')) as { version: string };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `${version} (${commit}${dirty ? ' + uncommitted src' : ''})`;
  } catch {
    return version;
  }
}

const startedAt = Date.now();

function progress(message: string): void {
  process.stderr.write(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
}

function write(results: Results): void {
  const verdicts = judge(results);
  writeFileSync(here('./results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(here('./results.md'), markdownReport(results, verdicts));
  writeFileSync(here('./results.svg'), svgChart(results));
  process.stdout.write(
    `${stdoutReport(results, verdicts)}\n\nWrote bench/results.md, bench/results.svg and bench/results.json (measured in ${results.meta.durationS.toFixed(0)} s).\n`,
  );
}

async function main(): Promise<void> {
  // `--report`: rewrite the tables, results.md and the chart from results.json without measuring again.
  if (process.argv.includes('--report')) {
    write(JSON.parse(readFileSync(here('./results.json'), 'utf8')) as Results);
    return;
  }
  const all = Object.values(contenders);

  progress(`happy path: ${all.length} contenders, ${settings.happy.rounds} rounds`);
  const happy = await happyPath(all, settings.happy);

  const bursts: BurstResult[] = [];
  for (const spec of refreshingContenders) {
    for (const expiry of ['server', 'known'] as const) {
      progress(`burst of ${settings.burstRequests}: ${spec.label}, ${expiry} expiry`);
      bursts.push(await burst(spec, settings.burstRequests, expiry));
    }
  }

  const stagger: StaggerResult[] = [];
  for (const spec of refreshingContenders) {
    for (const expiry of ['server', 'known'] as const) {
      progress(`staggered: ${spec.label}, ${expiry} expiry`);
      stagger.push(await staggered(spec, expiry, settings.staggered));
    }
  }

  const churns: ChurnResult[] = [];
  const churnMarks: Record<string, readonly number[]> = {};
  for (const spec of refreshingContenders) {
    const options = spec.key === 'ours' ? settings.churnOurs : settings.churnOthers;
    progress(`churn: ${spec.label}, ${options.cycles} cycles`);
    churns.push(await churn(spec, options));
    churnMarks[spec.key] = options.heapMarks;
  }

  const scales: ScaleResult[] = [];
  progress('scale: axios floor (valid token)');
  scales.push(await scale(contenders.floor, settings.scale, false));
  progress('scale: axios-token-refresh');
  scales.push(await scale(contenders.ours, settings.scale, true));

  progress('sharing modes');
  const sharing = await sharingModes(settings.sharing.contexts, settings.sharing.perContext);
  for (const row of sharing) if ('skipped' in row) progress(`sharing: ${row.mode}: skipped: ${row.skipped}`);

  // Last, after every timed scenario: bundling and parsing the bundles leave a heap the timings should not share.
  progress('bundle sizes');
  const bundle = await bundleSizes();

  const meta: Meta = {
    date: new Date().toISOString(),
    node: process.versions.node,
    v8: process.versions.v8,
    os: `${type()} ${release()} ${arch()}`,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    memoryGb: totalmem() / 1e9,
    versions: {
      'axios-token-refresh': ourVersion(),
      axios: versionOf('axios'),
      'axios-auth-refresh': versionOf('axios-auth-refresh'),
      'axios-jwt': versionOf('axios-jwt'),
      'p-queue': versionOf('p-queue'),
      esbuild: versionOf('esbuild'),
    },
    scaledDown: [
      `churn runs the full ${settings.churnOurs.cycles.toLocaleString('en-US')} cycles for axios-token-refresh only; the other plugins run ${settings.churnOthers.cycles.toLocaleString('en-US')} cycles (heap marks at ${settings.churnOthers.heapMarks.join(' and ')}) to keep the whole run near 5 minutes on 2 cores.`,
      'scale runs for axios-token-refresh and the axios floor; the other plugins are compared in the 10,000-request burst.',
    ],
    durationS: (Date.now() - startedAt) / 1000,
    settings: { ...settings, churnMarks },
  };
  write({ meta, happy, burst: bursts, staggered: stagger, churn: churns, scale: scales, sharing, bundle });
}

await main();
