import { mkdirSync } from 'node:fs';
import { Command } from 'commander';
import {
  PROGRAM_CSV_COLUMNS,
  ProgramReport,
  READ_STORE_CACHE_MIB_PROJECTOR,
  catchUpReadStore,
  openReadModelStore,
  programReportCsv,
  programWindow,
  readStoreLocation,
} from '@ledger/projections';
import { AuditIo, EXIT_OK, dataDirOf, guarded, openStore, processIo, progress, writeOut } from './audit/io';

export interface ProgramReportOpts {
  from?: string;
  to?: string;
  csv?: boolean;
  json?: boolean;
}

/**
 * `ledger report program --from YYYY-MM-DD --to YYYY-MM-DD [--csv|--json]`: the programme
 * KPIs of GET /v1/reports/program, from the read store ($LEDGER_READ_STORE, default
 * $LEDGER_DATA_DIR/read.db), brought up to the log's head first (built from the events if
 * there is none yet: progress on stderr). A bad window exits 2 naming the option.
 */
export function runProgramReport(opts: ProgramReportOpts, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    const window = programWindow(opts.from, opts.to, { from: '--from', to: '--to' });
    const dataDir = dataDirOf(io.env);
    const location = readStoreLocation(io.env.LEDGER_READ_STORE, dataDir);
    if (location.kind === 'sqlite') mkdirSync(dataDir, { recursive: true });
    const readStore = await openReadModelStore(location, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
    const store = openStore(io.env);
    const bar = progress(io, 'report: projecting');
    try {
      await catchUpReadStore(store, readStore, { onProgress: (p) => bar.update(p.position, p.headPosition) });
      bar.stop();
      const report = await readStore.createReader().programReport(window);
      if (opts.csv) await writeOut(io.stdout, programReportCsv(report));
      else if (opts.json) await writeOut(io.stdout, JSON.stringify(report, null, 2) + '\n');
      else await writeOut(io.stdout, formatProgramReport(report));
      return EXIT_OK;
    } finally {
      bar.stop();
      await readStore.close();
      await store.close();
    }
  });
}

/** The report as an aligned text table, one column per partner and one for the programme. */
export function formatProgramReport(report: ProgramReport): string {
  const header = ['', ...report.partners.map((p) => p.partnerId), 'total'];
  const rows = PROGRAM_CSV_COLUMNS.map((c) =>
    [c, ...report.partners.map((p) => p[c]), report.total[c]].map((v) => (v === null ? '-' : String(v))),
  );
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const lines = table.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  const title = `programme KPIs ${report.from} .. ${report.to} (excluded), previous window from ${report.previousFrom}; ${report.currency ?? '-'} at ${report.pointValueMinor ?? '-'} minor a point; as of position ${report.asOfPosition ?? '-'}`;
  return [title, 'rates in basis points (half-to-even); - where undefined', '', ...lines, ''].join('\n');
}

export function registerReportCommands(program: Command, io: () => AuditIo = processIo): void {
  const report = program.command('report').description('reports from the read models');
  report
    .command('program')
    .description('programme KPIs of a window, per partner and in total (as GET /v1/reports/program)')
    .requiredOption('--from <YYYY-MM-DD>', 'first day of the window (UTC), included')
    .requiredOption('--to <YYYY-MM-DD>', 'day after the window, excluded (at most 366 days after --from)')
    .option('--csv', 'CSV: a row per partner, then total')
    .option('--json', 'the report as JSON')
    .action(async (opts: ProgramReportOpts) => {
      process.exitCode = await runProgramReport(opts, io());
    });
}
