import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { backupSqliteStore } from '@ledger/event-store';
import { readServiceEnv } from '../env-config';
import { progressBar } from './progress-bar';

/**
 * `ledger backup <file>`: an online, consistent copy of $LEDGER_DATA_DIR/ledger.db while the
 * API keeps serving writes. EventStoreDB/KurrentDB has its own backup procedure (README).
 */
export function registerBackupCommand(program: Command): void {
  program
    .command('backup <file>')
    .description("copy the SQLite event store while the API runs (SQLite's online backup); restore steps in the README")
    .action(async (file: string) => {
      const env = readServiceEnv();
      if (env.eventStoreUrl) {
        throw new Error(
          "ledger backup copies the embedded SQLite store; for EventStoreDB/KurrentDB use the server's own backup (see the README)",
        );
      }
      const source = join(env.dataDir, 'ledger.db');
      const target = resolve(file);
      const bar = progressBar('backup', 'pages');
      try {
        const result = await backupSqliteStore(source, target, (p) =>
          bar.update(p.totalPages - p.remainingPages, p.totalPages, p.totalPages - p.remainingPages),
        );
        bar.stop();
        process.stderr.write(
          `backup ${result.file}: ${result.events} events up to position ${result.headPosition ?? 'none'}, ` +
            `${(result.bytes / 1024 / 1024).toFixed(1)} MiB in ${result.seconds.toFixed(1)} s; integrity check ok\n`,
        );
      } finally {
        bar.stop();
      }
    });
}
