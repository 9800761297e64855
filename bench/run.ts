/**
 * `npm run bench [-- --quick] [-- --only=name,name|line,line]`: every benchmark, each reported
 * beside a baseline measured in the same run. A full run writes bench/results.json and
 * bench/RESULTS.md; --quick (which only checks the benchmarks still run) and --only print their
 * lines and write nothing, so RESULTS.md always holds one whole run. --only takes suite names or
 * line numbers (`--only=5`): a line number runs the suite that measures it and prints that line.
 */
import { join } from 'node:path';
import { BenchLine, printLine, writeResults } from './lib/report';
import { removeBulkHistories } from './lib/bulk-history';
import { benchWritePath } from './write-path';
import { benchAppendPath } from './append-path';
import { benchBigStore } from './big-store';
import { benchMemory } from './memory';
import { benchProfile } from './profile';
import { benchRecovery } from './recovery';
import { benchServiceLoad } from './service-load';
import { benchHotMember } from './hot-member';
import { benchCaptureUnderLoad } from './capture-load';
import { benchTxIdReservation } from './txid-reservation';
import { benchExpiryJob } from './expiry-job';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;
// Memory is measured at 2M events by default (10M takes ~8 more minutes): --memory-events=10000000.
const memoryEvents = Number(
  args.find((a) => a.startsWith('--memory-events='))?.slice('--memory-events='.length) ?? (quick ? 50_000 : 2_000_000),
);
const runStarted = Date.now();
// Each line says when in the run it was written, so a slow run shows where its time went.
const log = (s: string) => process.stderr.write(`[bench ${((Date.now() - runStarted) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

/**
 * Each suite and the numbered lines it measures (the number that starts each line's name). A
 * suite measures its lines from one setup (`big` generates one store for 4, 5 and 6), so asking
 * for one line runs its whole suite; the run fails if a suite reports a line not listed here.
 */
const suites: { name: string; lines: readonly string[]; run: () => Promise<BenchLine[]> }[] = [
  { name: 'write', lines: ['1', '8'], run: () => benchWritePath({ quick, log }) },
  { name: 'append', lines: ['2', '3'], run: () => benchAppendPath({ quick, log }) },
  { name: 'big', lines: ['4', '5', '6'], run: () => benchBigStore({ quick, log }) },
  { name: 'serve', lines: ['9', '10', '11', '12', '13', '14'], run: () => benchServiceLoad({ quick, log }) },
  { name: 'recovery', lines: ['15'], run: () => benchRecovery({ quick, log }) },
  { name: 'memory', lines: ['7'], run: () => benchMemory({ events: memoryEvents, log }) },
  { name: 'hot', lines: ['16'], run: () => benchHotMember({ quick, log }) },
  { name: 'capture', lines: ['17'], run: () => benchCaptureUnderLoad({ quick, log }) },
  { name: 'txid', lines: ['19'], run: () => benchTxIdReservation({ quick, log }) },
  { name: 'expiry', lines: ['18'], run: () => benchExpiryJob({ quick, log }) },
];
// Run only when named: a profile, not a benchmark line.
const onDemand: typeof suites = [{ name: 'profile', lines: [], run: () => benchProfile({ quick, log }) }];
// `big` runs first: its projection catch-up (line 4) of the 1M-event history is the very
// projection that `write`, `recovery` and `expiry` start from, which is then made once
// instead of twice (bench/lib/bulk-history adoptBulkHistoryProjection). Results keep the order above.
const runFirst = ['big'];

type Suite = (typeof suites)[number];
const declared: Suite[] = [...suites, ...onDemand];

/** The number a line's name starts with: '4' of '4 projection catch-up'. */
const lineNumberOf = (line: BenchLine): string => /^(\d+) /.exec(line.benchmark)?.[1] ?? '';

/** Without --only, every suite but the on-demand ones; with it, those named and those measuring a line asked for. */
const selected = (suite: Suite): boolean =>
  only ? only.has(suite.name) || suite.lines.some((n) => only.has(n)) : !onDemand.includes(suite);

/** A line is printed when its suite was named, or its number was asked for. */
const shown = (suite: Suite, line: BenchLine): boolean => !only || only.has(suite.name) || only.has(lineNumberOf(line));

async function main() {
  const started = Date.now();
  const runOrder = [...declared].sort((a, b) => Number(runFirst.includes(b.name)) - Number(runFirst.includes(a.name)));
  const results = new Map<string, BenchLine[]>();
  for (const suite of runOrder) {
    if (!selected(suite)) continue;
    const t0 = Date.now();
    const result = await suite.run();
    const unlisted = result.filter((line) => !suite.lines.includes(lineNumberOf(line)));
    if (unlisted.length > 0) {
      throw new Error(
        `the ${suite.name} suite reported lines its entry in bench/run.ts does not list: ${unlisted.map((l) => l.benchmark).join(', ')}`,
      );
    }
    result.filter((line) => shown(suite, line)).forEach(printLine);
    results.set(suite.name, result);
    log(`${suite.name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const lines = declared.flatMap((suite) => results.get(suite.name) ?? []);
  const meta = { quick, finishedAt: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000) };
  // A quick run is a smoke test and --only a part: neither may overwrite the full run's figures.
  if (!quick && !only) writeResults(join(__dirname, '..', '..', 'bench'), lines, meta);
  log(`done in ${meta.seconds} s`);
}

// A line number names one line: a number two suites both listed would make `--only=<n>` run both.
const claimedBy = new Map<string, string>();
for (const suite of declared) {
  for (const n of suite.lines) {
    const other = claimedBy.get(n);
    if (other !== undefined) {
      process.stderr.write(`bench: line ${n} is listed by both the ${other} and the ${suite.name} suites in bench/run.ts\n`);
      process.exit(2);
    }
    claimedBy.set(n, suite.name);
  }
}

const unknown = [...(only ?? [])].filter((o) => !declared.some((suite) => suite.name === o || suite.lines.includes(o)));
if (unknown.length > 0) {
  const names = declared.map((suite) => suite.name).join(', ');
  const numbers = [...new Set(declared.flatMap((suite) => suite.lines))].sort((a, b) => Number(a) - Number(b)).join(', ');
  process.stderr.write(`bench: --only=${unknown.join(',')}: no such suite or line (suites: ${names}; lines: ${numbers})\n`);
  process.exit(2);
}

main()
  .finally(removeBulkHistories)
  .catch((err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
