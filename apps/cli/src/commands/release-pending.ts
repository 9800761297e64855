import { Command } from 'commander';
import { ReleasePendingPointsCommand, systemMeta } from '@ledger/application';
import { headPosition } from '@ledger/event-store';
import { CheckpointMoved, ProjectionRunner, openReadModelStore } from '@ledger/projections';
import { readServiceEnv } from '../env-config';
import { openLedgerContext } from '../ledger-context';
import { progressBar } from './progress-bar';

/** Due lots are read at once: three short strings each, a million of them a few tens of MB. */
const DUE_LOTS_MAX = 10_000_000;

/**
 * `ledger release-pending [--until <ISO>]`: appends PointsReleased for every pending lot whose
 * window ended by then (what the API's job does on an interval). Due lots come from the
 * pending lots read model, caught up to the log's head first; safe beside a running API.
 */
export function registerReleasePendingCommand(program: Command): void {
  program
    .command('release-pending')
    .description(
      'append PointsReleased for every pending lot whose return window ended by --until (default now; safe beside a running API)',
    )
    .option('--until <iso>', 'release lots available at or before this time (not in the future)')
    .action(async (opts: { until?: string }) => {
      const now = Date.now();
      const until = opts.until === undefined ? now : Date.parse(opts.until);
      if (Number.isNaN(until)) throw new Error('--until must be an ISO 8601 time');
      // A lot is released by the clock: one not due yet would be refused.
      if (until > now) throw new Error('--until must not be in the future');
      const env = readServiceEnv();
      const ledger = await openLedgerContext();
      const readStore = await openReadModelStore(env.readStore);
      try {
        const head = await headPosition(ledger.store);
        if (head !== undefined) {
          const catchingUp = progressBar('release-pending: catching up the read models', 'events');
          const runner = new ProjectionRunner(ledger.store, readStore, {
            onBatch: (b) => catchingUp.update(b.position, head, b.eventsApplied),
          });
          try {
            await runner.runUntil(head);
          } catch (error) {
            // Another projector (a running API's) moved the checkpoint first: it is catching up itself.
            if (!(error instanceof CheckpointMoved)) throw error;
          } finally {
            catchingUp.stop();
          }
        }
        const due = await readStore.createReader().duePendingLots(new Date(until), DUE_LOTS_MAX);
        const meta = systemMeta('release-pending');
        const releasing = progressBar('release-pending: releasing', 'lots');
        let released = 0;
        try {
          for (const [i, lot] of due.entries()) {
            const result = await ledger.commands.execute(
              new ReleasePendingPointsCommand({ memberId: lot.memberId, lotId: lot.lotId }, meta),
            );
            if (result.released) released += 1;
            releasing.update(i + 1, due.length, i + 1);
          }
        } finally {
          releasing.stop();
        }
        process.stdout.write(`${released} pending lots released (${due.length} due by ${new Date(until).toISOString()})\n`);
      } finally {
        await readStore.close();
        await ledger.close();
      }
    });
}
