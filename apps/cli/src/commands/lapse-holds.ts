import { Command } from 'commander';
import { LapseHoldCommand, openHoldsInLog, systemMeta } from '@ledger/application';
import { openLedgerContext } from '../ledger-context';
import { progressBar } from './progress-bar';

/** `ledger lapse-holds`: records every hold past its expiry as lapsed (what the API's job does on an interval). */
export function registerLapseHoldsCommand(program: Command): void {
  program
    .command('lapse-holds')
    .description('append HoldReleased {reason: "expired"} for every hold past its expiry (safe beside a running API)')
    .action(async () => {
      const ledger = await openLedgerContext();
      try {
        const reading = progressBar('lapse-holds: reading the log', 'positions');
        let open;
        try {
          open = await openHoldsInLog(ledger.store, (position, head) => reading.update(position, head, position));
        } finally {
          reading.stop();
        }
        const now = Date.now();
        const due = open.filter((h) => Date.parse(h.expiresAt) <= now);
        const meta = systemMeta('lapse-holds');
        const lapsing = progressBar('lapse-holds: lapsing', 'holds');
        let lapsed = 0;
        try {
          for (const [i, hold] of due.entries()) {
            const result = await ledger.commands.execute(new LapseHoldCommand({ memberId: hold.memberId, holdId: hold.holdId }, meta));
            if (result.lapsed) lapsed += 1;
            lapsing.update(i + 1, due.length, i + 1);
          }
        } finally {
          lapsing.stop();
        }
        process.stdout.write(`${lapsed} holds lapsed (${due.length} due, ${open.length} open)\n`);
      } finally {
        await ledger.close();
      }
    });
}
