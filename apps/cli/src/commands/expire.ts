import { Command } from 'commander';
import { systemMeta } from '@ledger/application';
import { InvalidInput } from '@ledger/domain';
import { READ_STORE_CACHE_MIB_PROJECTOR, catchUpReadStore, openReadModelStore } from '@ledger/projections';
import { EXPIRY_CLI_CONCURRENCY_DEFAULT, expirySummary, runExpiry } from '@ledger/api/expiry/expiry-run';
import { readServiceEnv } from '../env-config';
import { openLedgerContext } from '../ledger-context';
import { EXIT_OK, guarded, processIo } from './audit/io';
import { progressBar } from './progress-bar';

// A zone is required: an instant without one means different instants on different machines.
const ISO_INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/** `--until` as an instant: an ISO 8601 time with a zone, not after `now` (a lot never lapses early). */
export function parseUntil(raw: string | undefined, now: Date): Date {
  const text = (raw ?? '').trim();
  const ms = ISO_INSTANT.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new InvalidInput('--until', 'must be an ISO 8601 time with a zone, e.g. 2026-11-20T00:00:00Z');
  if (ms > now.getTime())
    throw new InvalidInput(
      '--until',
      `must not be after the present time (${now.toISOString()}): a lot lapses at its expiry, never earlier`,
    );
  return new Date(ms);
}

/**
 * `ledger expire --until <ISO time>`: appends PointsExpired for every lot due by then (what
 * the API's job does on an interval). The due lots come from the read store's index
 * ($LEDGER_READ_STORE, default $LEDGER_DATA_DIR/read.db), brought up to the log's head first;
 * safe beside a running API and a second run (each lot lapses once). A bad --until exits 2.
 */
export function registerExpireCommand(program: Command): void {
  program
    .command('expire')
    .description('append PointsExpired for every lot due by --until (safe beside a running API; progress on stderr)')
    .requiredOption('--until <ISO time>', 'lots expiring at or before this instant lapse (not after now), e.g. 2026-11-20T00:00:00Z')
    .option('--concurrency <members>', 'members expired at once', String(EXPIRY_CLI_CONCURRENCY_DEFAULT))
    .action(async (opts: { until: string; concurrency: string }) => {
      const io = processIo();
      process.exitCode = await guarded(io, async () => {
        const until = parseUntil(opts.until, new Date());
        const concurrency = Number(opts.concurrency);
        if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 256) {
          throw new InvalidInput('--concurrency', 'must be a whole number from 1 to 256');
        }
        const env = readServiceEnv();
        const ledger = await openLedgerContext();
        const readStore = await openReadModelStore(env.readStore, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
        try {
          const projecting = progressBar('expire: projecting', 'positions');
          try {
            await catchUpReadStore(ledger.store, readStore, {
              onProgress: (p) => projecting.update(p.position, p.headPosition, p.position),
            });
          } finally {
            projecting.stop();
          }
          const expiring = progressBar('expire: expiring', 'members');
          let result;
          try {
            result = await runExpiry(readStore.createReader(), ledger.commands, until, systemMeta('expire'), {
              concurrency,
              onProgress: (done, total) => expiring.update(done, total, done),
            });
          } finally {
            expiring.stop();
          }
          process.stdout.write(`${expirySummary(result)}\n`);
          return EXIT_OK;
        } finally {
          await readStore.close();
          await ledger.close();
        }
      });
    });
}
