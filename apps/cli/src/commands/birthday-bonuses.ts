import { Command } from 'commander';
import { systemMeta } from '@ledger/application';
import { InvalidInput } from '@ledger/domain';
import { READ_STORE_CACHE_MIB_PROJECTOR, catchUpReadStore, openReadModelStore } from '@ledger/projections';
import { birthdaySummary, runBirthdays } from '@ledger/api/birthdays/birthday-run';
import { readServiceEnv } from '../env-config';
import { openLedgerContext } from '../ledger-context';
import { EXIT_OK, guarded, processIo } from './audit/io';
import { parseUntil } from './expire';
import { progressBar } from './progress-bar';

/**
 * `ledger birthday-bonuses --at <ISO time>`: gives the programme's birthday bonus to every
 * member born on the UTC month and day of --at (the API's job does it for today), once per
 * member per year whoever runs it. Members come from the read store's birthdays index,
 * brought up to the log's head first. A bad --at exits 2.
 */
export function registerBirthdayBonusesCommand(program: Command): void {
  program
    .command('birthday-bonuses')
    .description("give the birthday bonus to the members born on --at's day (once per member per year; progress on stderr)")
    .requiredOption('--at <ISO time>', 'the day to run for (not after now), e.g. 2026-11-20T00:05:00Z')
    .action(async (opts: { at: string }) => {
      const io = processIo();
      process.exitCode = await guarded(io, async () => {
        let at: Date;
        try {
          at = parseUntil(opts.at, new Date());
        } catch (err) {
          if (err instanceof InvalidInput)
            throw new InvalidInput(
              '--at',
              err.details[0].reason.replace('a lot lapses at its expiry, never earlier', 'a bonus is not given ahead'),
            );
          throw err;
        }
        const env = readServiceEnv();
        const ledger = await openLedgerContext();
        const readStore = await openReadModelStore(env.readStore, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
        try {
          const projecting = progressBar('birthdays: projecting', 'positions');
          try {
            await catchUpReadStore(ledger.store, readStore, {
              onProgress: (p) => projecting.update(p.position, p.headPosition, p.position),
            });
          } finally {
            projecting.stop();
          }
          const giving = progressBar('birthdays: giving', 'members');
          let result;
          try {
            result = await runBirthdays(readStore.createReader(), ledger.commands, at, systemMeta('birthday-bonuses'), {
              onProgress: (done, total) => giving.update(done, total, done),
            });
          } finally {
            giving.stop();
          }
          process.stdout.write(`${birthdaySummary(result)}\n`);
          return EXIT_OK;
        } finally {
          await readStore.close();
          await ledger.close();
        }
      });
    });
}
