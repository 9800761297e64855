import { mkdirSync } from 'node:fs';
import { Command } from 'commander';
import { openEventStore } from '@ledger/event-store';
import { PROJECTION_BATCH_SIZE_DEFAULT, READ_STORE_CACHE_MIB_PROJECTOR, openReadModelStore, rebuildReadStore } from '@ledger/projections';
import { readServiceEnv } from '../env-config';
import { progressBar } from './progress-bar';

/**
 * `ledger rebuild`: drops every read model in the read store ($LEDGER_READ_STORE, default
 * $LEDGER_DATA_DIR/read.db) and replays all
 * events from position 0. Run it with the projector stopped: a projector that finds its
 * checkpoint moved refuses to write (and the API's restarts from the new checkpoint).
 */
export function registerRebuildCommand(program: Command): void {
  program
    .command('rebuild')
    .description('drop the read models and replay every event from position 0 (progress on stderr)')
    .option('--batch <events>', 'events per read-store transaction', String(PROJECTION_BATCH_SIZE_DEFAULT))
    .action(async (opts: { batch: string }) => {
      const env = readServiceEnv();
      const batchSize = Number(opts.batch);
      if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error('--batch must be a positive integer');
      mkdirSync(env.dataDir, { recursive: true });
      const readStore = await openReadModelStore(env.readStore, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
      const opened = openEventStore(env);
      const bar = progressBar('rebuild', 'events');
      try {
        // Positions drive the bar and its ETA (they are not counts on every store); the count is shown beside.
        const result = await rebuildReadStore(opened.store, readStore, {
          batchSize,
          onProgress: (p) => bar.update(p.position, p.headPosition, p.eventsApplied),
        });
        bar.stop();
        const rate = result.seconds > 0 ? Math.round(result.events / result.seconds) : result.events;
        process.stderr.write(
          `rebuilt ${readStore.where}: ${result.events} events up to position ${result.position ?? 'none'} in ${result.seconds.toFixed(1)} s (${rate} events/s)\n`,
        );
      } finally {
        bar.stop();
        await readStore.close();
        await opened.store.close();
      }
    });
}
