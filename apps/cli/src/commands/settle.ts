import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { DomainError } from '@ledger/domain';
import { ClosePeriodCommand, GetStatementQuery, systemMeta } from '@ledger/application';
import { SettlementStatement, renderStatementText, statementCsv, statementJson } from '@ledger/settlement';
import { openLedgerContext } from '../ledger-context';
import { progressBar } from './progress-bar';

/** `ledger settle --period 2026-10`: closes the period (or, with --show, prints a closed one) and files it. */
export function registerSettleCommand(program: Command): void {
  program
    .command('settle')
    .description('close a settlement period and write its statement (terminal table, JSON and CSV)')
    .requiredOption('--period <YYYY-MM>', 'the calendar month (UTC) to close')
    .option('--out <dir>', 'where to write the statement files', './settlements')
    .option('--show', 'print and write an already closed period instead of closing one')
    .action(async (opts: { period: string; out: string; show?: boolean }) => {
      const ledger = await openLedgerContext();
      try {
        const progress = progressBar('settle: reading the log', 'positions');
        let statement: SettlementStatement;
        try {
          statement = opts.show
            ? await ledger.queries.execute(new GetStatementQuery(opts.period))
            : await ledger.commands.execute(
                new ClosePeriodCommand(opts.period, systemMeta(`settle-${opts.period}`), (position, cutoff) =>
                  progress.update(position, cutoff, position),
                ),
              );
        } finally {
          progress.stop();
        }
        process.stdout.write(renderStatementText(statement) + '\n');
        const dir = join(opts.out, opts.period);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'statement.json'), statementJson(statement) + '\n');
        const csv = statementCsv(statement);
        for (const [name, text] of Object.entries(csv)) writeFileSync(join(dir, `${name}.csv`), text);
        process.stderr.write(
          `statement ${statement.sha256} written to ${dir}/ (statement.json, matrix.csv, netPositions.csv, transfers.csv)\n`,
        );
      } catch (err) {
        if (err instanceof DomainError) throw new Error(`${err.code}: ${err.message}`, { cause: err });
        throw err;
      } finally {
        await ledger.close();
      }
    });
}
