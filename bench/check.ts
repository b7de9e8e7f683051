/**
 * `npm run bench:check`: re-measures what the budgets need (ours, and the hand-written interceptor as the happy path's
 * baseline) with the sizes of `npm run bench`, prints each budget's figure, and exits 1 when one is broken: the
 * happy path, scale and churn budgets of issue 5 and the bundle budgets of issue 12 (`bundleBudgets` in results.ts).
 * `tsx bench/check.ts --from bench/results.json` judges the figures of the last full run instead.
 */
import { readFileSync } from 'node:fs';
import { bundleSizes } from './bundle.js';
import { contenders } from './contenders.js';
import { broken as brokenBudgets, judge, verdictWord } from './results.js';
import type { Results } from './results.js';
import { burst, churn, happyPath, scale, staggered } from './scenarios.js';
import { settings } from './settings.js';

function progress(message: string): void {
  process.stderr.write(`[bench:check] ${message}\n`);
}

async function measure(): Promise<Partial<Results>> {
  const ours = contenders.ours;
  progress('happy path');
  const happy = await happyPath([contenders.handwritten, ours], settings.happy);
  progress('bursts');
  const bursts = [
    await burst(ours, settings.burstRequests, 'server'),
    await burst(ours, settings.burstRequests, 'known'),
  ];
  progress('staggered');
  const stagger = [
    await staggered(ours, 'server', settings.staggered),
    await staggered(ours, 'known', settings.staggered),
  ];
  progress('scale');
  const scales = [await scale(ours, settings.scale, true)];
  progress(`churn (${settings.churnOurs.cycles} cycles)`);
  const churns = [await churn(ours, settings.churnOurs)];
  // Last, after every timed scenario: bundling and parsing the bundles leave a heap the timings should not share.
  progress('bundle sizes');
  const bundle = await bundleSizes([
    'ours',
    'oursWithPQueue',
    'oursWithoutDpop',
    'oursGrantAlone',
    'oursGrantWithPQueue',
  ]);
  return { happy, burst: bursts, staggered: stagger, scale: scales, churn: churns, bundle };
}

async function main(): Promise<void> {
  const fromIndex = process.argv.indexOf('--from');
  let results: Partial<Results>;
  if (fromIndex >= 0) {
    const file = process.argv[fromIndex + 1];
    if (file === undefined) throw new TypeError('Expected a file after `--from`, e.g. --from bench/results.json');
    results = JSON.parse(readFileSync(file, 'utf8')) as Results;
    progress(`judging ${file} (measured ${(results as Results).meta.date})`);
  } else {
    results = await measure();
  }
  const verdicts = judge(results);
  const width = Math.max(...verdicts.map((verdict) => verdict.budget.length));
  const words = verdicts.map(verdictWord);
  const wordWidth = Math.max(...words.map((word) => word.length));
  verdicts.forEach((verdict, index) => {
    process.stdout.write(
      `${words[index]!.padEnd(wordWidth)}  ${verdict.budget.padEnd(width)}  ${verdict.figure}  (${verdict.limit})\n`,
    );
  });
  const broken = brokenBudgets(verdicts);
  if (verdicts.length === 0) {
    process.stdout.write('No budget could be judged: the results hold none of the figures the budgets need.\n');
    process.exitCode = 1;
  } else if (broken.length > 0) {
    process.stdout.write(`\n${broken.length} of ${verdicts.length} budgets broken.\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`\nAll ${verdicts.length} budgets pass.\n`);
  }
}

await main();
