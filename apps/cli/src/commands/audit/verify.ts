import { existsSync } from 'node:fs';
import { ReadModelCheck, SqliteReadModelCheck, formatVerifyReport, verifyLedger } from '@ledger/audit';
import { PostgresReadStore, readStoreLocation } from '@ledger/projections';
import { checkPeriodId } from '@ledger/settlement';
import { AuditIo, EXIT_FAILED, EXIT_OK, dataDirOf, guarded, openStore, progress, writeOut } from './io';

export interface VerifyOpts {
  period?: string;
  json?: boolean;
  /** commander's --no-read-model / --no-statements */
  readModel?: boolean;
  statements?: boolean;
}

/**
 * `ledger verify [--period YYYY-MM]`: hash chains, invariants, read models, closed
 * statements and their Merkle roots. Exit 0 only if all of it holds.
 */
export function runVerify(opts: VerifyOpts, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    if (opts.period !== undefined) checkPeriodId(opts.period, '--period');
    const location = readStoreLocation(io.env.LEDGER_READ_STORE, dataDirOf(io.env));
    let readModel: ReadModelCheck | undefined;
    let readModelSkipped: string | undefined;
    if (opts.readModel === false) readModelSkipped = 'not asked for (--no-read-model)';
    else if (location.kind === 'postgres') {
      const readStore = await PostgresReadStore.open(location.url);
      try {
        readModel = await SqliteReadModelCheck.ofPostgres(readStore);
      } finally {
        await readStore.close();
      }
    } else {
      readModel = existsSync(location.file) ? SqliteReadModelCheck.open(location.file) : undefined;
      if (!readModel) readModelSkipped = `no read store at ${location.file} (\`ledger rebuild\` builds one)`;
    }
    const store = openStore(io.env);
    const bar = progress(io, 'verify');
    try {
      const report = await verifyLedger(store, {
        period: opts.period,
        readModel,
        readModelSkipped,
        statements: opts.statements,
        onProgress: (phase, done, total, period) =>
          bar.update(done, total, phase === 'log' ? 'verify: log' : `verify: statement ${period}`),
      });
      bar.stop();
      if (opts.json) await writeOut(io.stdout, JSON.stringify(report, null, 2) + '\n');
      else await writeOut(io.stdout, formatVerifyReport(report) + '\n');
      if (opts.json) await writeOut(io.stderr, `verify: ${report.ok ? 'OK' : 'FAILED'}\n`);
      return report.ok ? EXIT_OK : EXIT_FAILED;
    } finally {
      bar.stop();
      await store.close();
    }
  });
}
