/** Turns results into the stdout tables, bench/results.md and bench/results.svg (a hand-made bar chart). */
import type { ContenderKey } from './contenders.js';
import { broken, verdictWord, type Results, type Verdict } from './results.js';
import type { SharingResult, SharingSkip } from './sharing.js';

type Align = 'l' | 'r';

interface Table {
  readonly title: string;
  readonly headers: readonly string[];
  readonly align: readonly Align[];
  readonly rows: readonly (readonly string[])[];
  readonly note?: string;
}

const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const dec = (value: number, digits = 1): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';
// One success in 10,000 must not print as 0.0%.
const pct = (part: number, whole: number): string => {
  const value = (100 * part) / whole;
  return `${dec(value, value > 0 && value < 0.1 ? 2 : 1)}%`;
};
const yesNo = (value: boolean): string => (value ? 'yes' : 'no');
const kib = (bytes: number): string => `${dec(bytes / 1024, 1)} KiB`;

function tables(results: Results, verdicts: readonly Verdict[]): Table[] {
  const out: Table[] = [];
  const settings = results.meta.settings as Record<string, Record<string, number>>;
  const happy = settings['happy'] ?? {};
  const inFlight = happy['inFlight'] ?? 100;
  out.push({
    title:
      '1. Happy path: valid token, µs per request (median of rounds) and CPU-time ratio to the hand-written interceptor',
    headers: [
      'contender',
      '1 at a time: wall µs/req',
      'CPU µs/req',
      'ratio',
      `${inFlight} in flight: wall µs/req`,
      'CPU µs/req',
      'ratio',
      'failed',
    ],
    align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: results.happy.map((row) => [
      row.label,
      dec(row.sequentialUs),
      dec(row.sequentialCpuUs),
      `${dec(row.sequentialRatio, 3)}x`,
      dec(row.concurrentUs),
      dec(row.concurrentCpuUs),
      `${dec(row.concurrentRatio, 3)}x`,
      int(row.failures),
    ]),
    note: `${happy['rounds']} rounds of ${int(happy['requestsPerRound'] ?? 0)} requests per contender and mode, contenders alternating within each round (the order rotating). The ratio is the median of the per-round ratios of the process's CPU time (\`process.cpuUsage\`): on a shared machine, wall time also counts the time other processes held the CPU, which swamps a 5% difference.`,
  });
  const expiryName = (expiry: string): string => (expiry === 'server' ? 'server-side' : 'known (JWT exp)');
  out.push({
    title: `2. Burst: ${int(results.burst[0]?.requests ?? 0)} concurrent requests after an expiry`,
    headers: [
      'contender',
      'expiry',
      'succeeded',
      'failed',
      '401s served',
      'refresh calls',
      'spent RT presented',
      'grant revoked',
      'wall ms',
    ],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
    rows: results.burst.map((row) => [
      row.label,
      expiryName(row.expiry),
      pct(row.succeeded, row.requests),
      int(row.failed),
      int(row.served401),
      int(row.refreshCalls),
      int(row.spentPresented),
      yesNo(row.revoked),
      int(row.wallMs),
    ]),
    note: 'Server-side: the server killed the access token while its `exp` is an hour ahead (the client cannot know). Known: the JWT `exp` passed a second ago. The token endpoint answers after 2 ms.',
  });
  const stagger = settings['staggered'] ?? {};
  out.push({
    title: '3. Staggered traffic across an expiry, with refresh-token rotation and reuse detection',
    headers: [
      'contender',
      'expiry',
      'requests',
      'succeeded',
      'failed',
      '401s served',
      'refresh calls',
      'spent RT presented',
      'grant revoked',
    ],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    rows: results.staggered.map((row) => [
      row.label,
      expiryName(row.expiry),
      int(row.requests),
      pct(row.succeeded, row.requests),
      int(row.failed),
      int(row.served401),
      int(row.refreshCalls),
      int(row.spentPresented),
      yesNo(row.revoked),
    ]),
    note: `${stagger['waveSize']} requests every ${stagger['waveEveryMs']} ms for ${int(stagger['durationMs'] ?? 0)} ms, token endpoint ${stagger['tokenLatencyMs']} ms. Server-side: the server kills the access token halfway. Known: the JWT \`exp\` falls about 600 ms into the run and the server refuses the token from then on; plugins that read \`exp\` can refresh before it.`,
  });
  out.push({
    title: '4. Churn: expiry cycles (server-side expiry, then concurrent requests)',
    headers: [
      'contender',
      'cycles × requests',
      'failed',
      'refreshes/cycle',
      'spent RT presented',
      'grant revoked',
      'heap at marks (forced GC)',
      'heap Δ',
      'wall s',
    ],
    align: ['l', 'r', 'r', 'r', 'r', 'l', 'l', 'r', 'r'],
    rows: results.churn.map((row) => {
      const marks = (settings['churnMarks']?.[row.key] as unknown as number[] | undefined) ?? [];
      return [
        row.label,
        `${int(row.cycles)} × ${row.requestsPerCycle}`,
        int(row.failed),
        dec(row.refreshesPerCycle, 3),
        int(row.spentPresented),
        yesNo(row.revoked),
        row.heapBytes.map((bytes, index) => `${int(marks[index] ?? 0)}: ${dec(bytes / 1_048_576, 2)} MiB`).join(', '),
        Number.isFinite(row.heapDeltaBytes) ? kib(row.heapDeltaBytes) : '—',
        dec(row.wallMs / 1000, 1),
      ];
    }),
    note: 'The token endpoint answers on the next turn of the event loop. Heap: `heapUsed` after four forced full GCs; the difference between the marks shows a leak.',
  });
  const sizes = results.scale[0]?.points.map((point) => point.requests) ?? [];
  out.push({
    title: '5. Scale: CPU µs per request of a burst by size, wall µs in brackets (median of repeats)',
    headers: [
      'contender',
      'what',
      ...sizes.map((size) => int(size)),
      'largest / smallest (CPU)',
      '(wall)',
      'failed',
      'refresh calls',
    ],
    align: ['l', 'l', ...sizes.map((): Align => 'r'), 'r', 'r', 'r', 'r'],
    rows: results.scale.map((row) => [
      row.label,
      row.what,
      ...row.points.map((point) => `${dec(point.perRequestCpuUs)} (${dec(point.perRequestUs)})`),
      `${dec(row.ratio, 2)}x`,
      `${dec(row.wallRatio, 2)}x`,
      int(row.points.reduce((sum, point) => sum + point.failed, 0)),
      row.points.map((point) => `${point.refreshCalls}/${point.repeats}`).join(', '),
    ]),
    note: `Repeats: ${results.scale[0]?.points.map((point) => `${int(point.requests)} × ${point.repeats}`).join(', ')}, after three untimed runs of the smallest size. The token endpoint answers on the next turn, so a fixed latency does not flatter the small sizes. "refresh calls" is refresh calls / runs, per size.`,
  });
  out.push({
    title: `Sharing (issue 6): refreshes for a burst of ${int(results.sharing.find(isRun)?.requests ?? 0)} requests after a server-side expiry`,
    headers: ['mode', 'requests', 'failed', 'refresh calls', 'spent RT presented', 'grant revoked', 'wall ms'],
    align: ['l', 'r', 'r', 'r', 'r', 'l', 'r'],
    rows: results.sharing.map((row) =>
      isRun(row)
        ? [
            row.mode,
            int(row.requests),
            int(row.failed),
            int(row.refreshCalls),
            int(row.spentPresented),
            yesNo(row.revoked),
            int(row.wallMs),
          ]
        : [row.mode, `skipped: ${row.skipped}`, '', '', '', '', ''],
    ),
  });
  out.push({
    title: '6. Bundle: what a browser app ships (esbuild: bundle, minify, platform browser, ESM; gzip level 9)',
    headers: ['what', 'external', 'min bytes', 'min+gzip bytes'],
    align: ['l', 'l', 'r', 'r'],
    rows: results.bundle.map((row) => [
      row.label,
      row.external.join(', ') || '—',
      int(row.minBytes),
      int(row.gzipBytes),
    ]),
  });
  const ours = results.bundle.find((row) => row.id === 'ours');
  if (ours?.modules) {
    const total = ours.modules.reduce((sum, row) => sum + row.minBytes, 0);
    out.push({
      title: `Where the ${int(ours.gzipBytes)} min+gzip bytes of attachRefresh come from (minified bytes per source file)`,
      headers: ['file', 'min bytes', 'share', 'what it holds'],
      align: ['l', 'r', 'r', 'l'],
      rows: ours.modules.map((row) => [
        row.module,
        int(row.minBytes),
        `${dec((100 * row.minBytes) / total, 0)}%`,
        moduleRoles[row.module] ?? '',
      ]),
      ...(ours.gzipBytesWithoutMessages !== undefined && {
        note: `With every error message emptied, the same bundle is ${int(ours.gzipBytesWithoutMessages)} bytes min+gzip (an estimate: every string literal and template text that holds a space counts as a message): the messages weigh about ${int(ours.gzipBytes - ours.gzipBytesWithoutMessages)} bytes, the logic the rest.`,
      }),
    });
  }
  out.push({
    title: 'Budgets (npm run bench:check)',
    headers: ['budget', 'figure', 'limit', 'verdict'],
    align: ['l', 'l', 'l', 'l'],
    rows: verdicts.map((verdict) => [verdict.budget, verdict.figure, verdict.limit, verdictWord(verdict)]),
  });
  return out;
}

/** What each source file in the attachRefresh bundle holds, for the bytes table. */
const moduleRoles: Readonly<Record<string, string>> = {
  'src/session.ts':
    'token versions, the single flight, waiting requests and their cancellation, late answers, onTokens before use, the tokens loader, shared-store reads and compare-and-set writes, events, the debug hook',
  'src/attach.ts':
    'the two interceptors, replays and their limit, the redirect guard, Authorization redaction on errors, option checks',
  'src/errors.ts':
    'TokenRefreshError and its fields, the cross-copy guard, classifying what refresh threw, Retry-After',
  'src/tokens.ts': 'TokenSet checks with their messages, merging a refresh result, the JWT `exp` decoder',
  'src/scope.ts': 'which origins get the token (baseURL, page, allowedOrigins)',
  'src/validate.ts': 'the one message template for bad input and the option rule checker',
  'src/store.ts': 'MemoryTokenStore: compare-and-set and the lock on p-queue',
  'src/challenge.ts': 'RFC 6750 WWW-Authenticate: which 401s a new token cannot cure',
};

function isRun(row: SharingResult | SharingSkip): row is SharingResult {
  return !('skipped' in row);
}

function textTable(table: Table): string {
  const widths = table.headers.map((header, column) =>
    Math.max(header.length, ...table.rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        table.align[column] === 'r' ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [
    table.title,
    line(table.headers),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...table.rows.map(line),
  ].join('\n');
}

function markdownTable(table: Table): string {
  const escapeCell = (cell: string): string => cell.replace(/\|/g, '\\|');
  return [
    `### ${table.title}`,
    '',
    `| ${table.headers.map(escapeCell).join(' | ')} |`,
    `| ${table.align.map((align) => (align === 'r' ? '---:' : ':---')).join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
    ...(table.note ? ['', table.note] : []),
  ].join('\n');
}

export function stdoutReport(results: Results, verdicts: readonly Verdict[]): string {
  return tables(results, verdicts).map(textTable).join('\n\n');
}

const setups: readonly string[] = [
  '**axios, no auth logic**: the header set once in the instance defaults: the floor.',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text quotes the code a user writes
  '**hand-written header interceptor**: ``instance.interceptors.request.use(config => { config.headers.Authorization = `Bearer ${token}`; return config; })``, what a user writes with no plugin. No refresh logic, so it appears only in the happy path.',
  "**axios-auth-refresh**: its README set-up: `createAuthRefresh(instance, refreshAuthLogic)` where the refresh call stores the new tokens and sets the header on `failedRequest.response.config`, plus the README's request interceptor that reads the stored token. v5 renamed `pauseInstanceWhileRefreshing` (its option for concurrency) to `deduplicateRefresh` and made it the default, so the defaults are its best option for concurrency; `deduplicateRefresh: false` is measured too. In its source, while a refresh is in flight the paused instance does not intercept errors, so a 401 that comes back during the refresh is rejected rather than replayed; only requests sent after the refresh started wait for it.",
  "**axios-jwt**: `applyAuthTokenInterceptor(instance, { requestRefresh, getStorage })` with an in-memory storage (`{ get, set, remove }`), `requestRefresh` returning both tokens (the README's advice for rotating servers). It only has a request interceptor: it refreshes when the JWT `exp` is within its 10 s fudge and does not handle 401s, so after a server-side expiry every request fails until the `exp` comes near. Its state is module-global, so one axios-jwt instance exists at a time.",
  '**axios-token-refresh**: `attachRefresh(instance, { tokens, refresh })` with default options; the expiry comes from the JWT `exp`.',
  'Every refresh goes through its own axios instance to the same token endpoint: `POST /oauth/token`, `grant_type=refresh_token`, rotating the refresh token on each use; a spent refresh token presented again revokes the grant (all its tokens die).',
];

export function markdownReport(results: Results, verdicts: readonly Verdict[]): string {
  const { meta } = results;
  const versions = Object.entries(meta.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const failed = broken(verdicts);
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts); do not edit by hand. `npm run bench:check` re-measures what the budgets need and exits non-zero when one is broken.',
    '',
    `- Date: ${meta.date}`,
    `- Machine: ${meta.cpu}, ${meta.cores} cores, ${dec(meta.memoryGb, 0)} GB RAM, ${meta.os}`,
    `- Node ${meta.node} (V8 ${meta.v8})`,
    `- Packages: ${versions}`,
    `- Run time: ${dec(meta.durationS, 0)} s`,
    ...meta.scaledDown.map((line) => `- Scaled down: ${line}`),
    '',
    "One process, one run: every contender talks to the same simulated API, an axios adapter that answers without network and validates bearer tokens (unsigned JWTs with `exp`), plus a token endpoint with rotation and reuse detection. Absolute times are this machine's; compare the rows with each other.",
    '',
    '![Side-by-side figures](results.svg)',
    '',
    '## Contenders',
    '',
    ...setups.map((line) => `- ${line}`),
    '',
    '## Results',
    '',
    tables(results, verdicts).map(markdownTable).join('\n\n'),
    '',
    failed.length === 0
      ? 'All budgets pass.'
      : `Budgets broken: ${failed.map((verdict) => `${verdict.budget} (${verdict.figure}, limit ${verdict.limit})`).join('; ')}.`,
    '',
  ].join('\n');
}

// ---- SVG --------------------------------------------------------------------------------------------------------

interface Bar {
  readonly label: string;
  readonly value: number;
  readonly text: string;
  readonly ours: boolean;
}

interface Panel {
  readonly title: string;
  readonly bars: readonly Bar[];
  /** The value a full-width bar stands for. */
  readonly max: number;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const shortLabels: Record<ContenderKey, string> = {
  axios: 'axios, no auth logic',
  handwritten: 'hand-written interceptor',
  aar: 'axios-auth-refresh (defaults)',
  aarNoDedupe: 'axios-auth-refresh (no dedupe)',
  axiosJwt: 'axios-jwt',
  ours: 'axios-token-refresh',
};

function panels(results: Results): Panel[] {
  const out: Panel[] = [];
  for (const expiry of ['server', 'known'] as const) {
    const rows = results.burst.filter((row) => row.expiry === expiry);
    if (rows.length === 0) continue;
    out.push({
      title: `Burst of ${int(rows[0]!.requests)} requests after a ${expiry === 'server' ? 'server-side' : 'known (JWT exp)'} expiry: requests that succeed`,
      max: 100,
      bars: rows.map((row) => ({
        label: shortLabels[row.key],
        value: (100 * row.succeeded) / row.requests,
        text: `${pct(row.succeeded, row.requests)}  (${row.refreshCalls} refresh${row.refreshCalls === 1 ? '' : 'es'}${row.revoked ? ', grant revoked' : ''})`,
        ours: row.key === 'ours',
      })),
    });
  }
  const inFlight = (results.meta.settings as Record<string, Record<string, number>>)['happy']?.['inFlight'] ?? 100;
  if (results.happy.length > 0) {
    out.push({
      title: `Happy path: CPU µs per request, ${inFlight} in flight (lower is better)`,
      max: Math.max(...results.happy.map((row) => row.concurrentCpuUs)) * 1.1,
      bars: results.happy.map((row) => ({
        label: shortLabels[row.key],
        value: row.concurrentCpuUs,
        text: `${dec(row.concurrentCpuUs)} µs  (${dec(row.concurrentRatio, 3)}x hand-written)`,
        ours: row.key === 'ours',
      })),
    });
  }
  const bundles = results.bundle.filter((row) => row.id !== 'axios');
  if (bundles.length > 0) {
    out.push({
      title: 'Bundle: KB min+gzip a browser app ships (axios external; lower is better)',
      max: Math.max(...bundles.map((row) => row.gzipBytes)) * 1.1,
      bars: bundles.map((row) => ({
        label: row.short,
        value: row.gzipBytes,
        text: `${dec(row.gzipBytes / 1000, 1)} KB`,
        ours: row.id.startsWith('ours'),
      })),
    });
  }
  return out;
}

export function svgChart(results: Results): string {
  const width = 1000;
  const labelWidth = 330;
  const barMax = 430;
  const barHeight = 20;
  const gap = 6;
  const parts: string[] = [];
  let y = 36;
  parts.push(
    `<text x="16" y="24" font-size="16" font-weight="bold">axios-token-refresh vs. the alternatives (${escapeXml(results.meta.date.slice(0, 10))}, Node ${escapeXml(results.meta.node)})</text>`,
  );
  for (const panel of panels(results)) {
    y += 22;
    parts.push(`<text x="16" y="${y}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`);
    y += 10;
    for (const bar of panel.bars) {
      const length = panel.max > 0 ? Math.max(1, (bar.value / panel.max) * barMax) : 1;
      const fill = bar.ours ? '#2563eb' : '#9ca3af';
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 14}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${fill}"/>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + 14}" font-size="12">${escapeXml(bar.text)}</text>`,
      );
      y += barHeight + gap;
    }
    y += 8;
  }
  y += 4;
  parts.push(
    `<text x="16" y="${y}" font-size="11" fill="#555">${escapeXml(`${results.meta.cpu}, ${results.meta.cores} cores. Details and set-ups: bench/results.md`)}</text>`,
  );
  const height = y + 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
