import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrashSoak } from './crash-soak';

/** `npm run soak -- --rounds 100 [--clients 8] [--seed 1] [--keep]`: the long crash soak. */
async function main(argv: string[]): Promise<number> {
  const arg = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    if (i === -1) return fallback;
    const value = Number(argv[i + 1]);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  const rounds = arg('rounds', 100);
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-soak-'));
  const started = Date.now();
  try {
    const report = await runCrashSoak({
      dataDir,
      rounds,
      clients: arg('clients', 8),
      seed: arg('seed', 1),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(
      `crash soak: ${report.rounds} rounds in ${Math.round((Date.now() - started) / 1000)} s; ` +
        `acknowledged ${report.acknowledged}, lost ${report.lost}, duplicated ${report.duplicated}, ` +
        `re-posted ${report.reposted} (of which already written ${report.repostsThatWereWritten}), refused ${report.refused}, ` +
        `replay mismatches ${report.replayMismatches}, events ${report.events}, verify exit ${report.verifyExitCode}, ` +
        `read models equal rebuild ${report.readModelsEqualRebuild}\n`,
    );
    for (const p of report.problems) process.stdout.write(`problem: ${p}\n`);
    const ok = report.problems.length === 0 && report.lost === 0 && report.duplicated === 0 && report.verifyExitCode === 0;
    return ok ? 0 : 1;
  } finally {
    if (argv.includes('--keep')) process.stderr.write(`data kept in ${dataDir}\n`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
