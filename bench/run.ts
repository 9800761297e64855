/**
 * `npm run bench [-- --quick] [-- --only name,name]`: every benchmark, each reported beside a
 * baseline measured in the same run. A full run writes bench/results.json and bench/RESULTS.md;
 * --quick (which only checks the benchmarks still run) and --only print their lines and
 * write nothing, so RESULTS.md always holds one whole run.
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

const suites: { name: string; run: () => Promise<BenchLine[]> }[] = [
  { name: 'write', run: () => benchWritePath({ quick, log }) },
  { name: 'append', run: () => benchAppendPath({ quick, log }) },
  { name: 'big', run: () => benchBigStore({ quick, log }) },
  { name: 'serve', run: () => benchServiceLoad({ quick, log }) },
  { name: 'recovery', run: () => benchRecovery({ quick, log }) },
  { name: 'memory', run: () => benchMemory({ events: memoryEvents, log }) },
  { name: 'hot', run: () => benchHotMember({ quick, log }) },
  { name: 'capture', run: () => benchCaptureUnderLoad({ quick, log }) },
  { name: 'txid', run: () => benchTxIdReservation({ quick, log }) },
  { name: 'expiry', run: () => benchExpiryJob({ quick, log }) },
];
// Run only when named: a profile, not a benchmark line.
const onDemand: typeof suites = [{ name: 'profile', run: () => benchProfile({ quick, log }) }];
// `big` runs first: its projection catch-up (line 4) of the 1M-event history is the very
// projection that `write`, `recovery` and `expiry` start from, which is then made once
// instead of twice (bench/lib/bulk-history adoptBulkHistoryProjection). Results keep the order above.
const runFirst = ['big'];

async function main() {
  const started = Date.now();
  const declared = [...suites, ...onDemand];
  const runOrder = [...declared].sort((a, b) => Number(runFirst.includes(b.name)) - Number(runFirst.includes(a.name)));
  const results = new Map<string, BenchLine[]>();
  for (const suite of runOrder) {
    if (only ? !only.has(suite.name) : onDemand.includes(suite)) continue;
    const t0 = Date.now();
    const result = await suite.run();
    result.forEach(printLine);
    results.set(suite.name, result);
    log(`${suite.name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const lines = declared.flatMap((suite) => results.get(suite.name) ?? []);
  const meta = { quick, finishedAt: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000) };
  // A quick run is a smoke test and --only a part: neither may overwrite the full run's figures.
  if (!quick && !only) writeResults(join(__dirname, '..', '..', 'bench'), lines, meta);
  log(`done in ${meta.seconds} s`);
}

main()
  .finally(removeBulkHistories)
  .catch((err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
