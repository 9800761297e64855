import { Command } from 'commander';
import { systemMeta } from '@ledger/application';
import { InvalidInput } from '@ledger/domain';
import { TierHolders, runTierReview, tierReviewSummary } from '@ledger/api/tiers/tier-review';
import { openLedgerContext } from '../ledger-context';
import { EXIT_OK, guarded, processIo } from './audit/io';
import { progressBar } from './progress-bar';

const ISO_INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/** `--at` as an instant with a zone, not after now (a review never looks ahead). */
export function parseReviewAt(raw: string | undefined, now: Date): Date {
  const text = (raw ?? '').trim();
  const ms = ISO_INSTANT.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new InvalidInput('--at', 'must be an ISO 8601 time with a zone, e.g. 2026-11-20T00:00:00Z');
  if (ms > now.getTime()) throw new InvalidInput('--at', `must not be after the present time (${now.toISOString()})`);
  return new Date(ms);
}

/**
 * `ledger review-tiers --at <ISO time>`: the tiers' anniversary review (what the API's job does
 * on an interval). Members holding a tier are found by a scan of the log (progress on stderr);
 * each one past an anniversary is reviewed as of it. Safe beside a running API and a second run.
 */
export function registerReviewTiersCommand(program: Command): void {
  program
    .command('review-tiers')
    .description('review the tier of every member past an anniversary of their last tier change, as of --at (progress on stderr)')
    .requiredOption('--at <ISO time>', 'the review date (not after now), e.g. 2026-11-20T00:00:00Z')
    .action(async (opts: { at: string }) => {
      const io = processIo();
      process.exitCode = await guarded(io, async () => {
        const at = parseReviewAt(opts.at, new Date());
        const ledger = await openLedgerContext();
        try {
          const holders = new TierHolders();
          const scanning = progressBar('review-tiers: scanning', 'positions');
          try {
            await holders.catchUp(ledger.store, (p) => scanning.update(p, p, p));
          } finally {
            scanning.stop();
          }
          const reviewing = progressBar('review-tiers: reviewing', 'members');
          let result;
          try {
            result = await runTierReview(holders, ledger.store, ledger.commands, at, systemMeta('review-tiers'), {
              onProgress: (done, total) => reviewing.update(done, total, done),
            });
          } finally {
            reviewing.stop();
          }
          process.stdout.write(`${tierReviewSummary(result)}\n`);
          return EXIT_OK;
        } finally {
          await ledger.close();
        }
      });
    });
}
