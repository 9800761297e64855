import { mkdirSync } from 'node:fs';
import { Command } from 'commander';
import { openEventStore } from '@ledger/event-store';
import {
  PROJECTION_BATCH_SIZE_DEFAULT,
  ProjectionRunner,
  READ_STORE_CACHE_MIB_PROJECTOR,
  ReadStore,
  readStorePath,
} from '@ledger/projections';
import { JsonLogger } from '@ledger/api/http/json-logger';
import { readServiceEnv } from '../env-config';

const LOG_EVERY_MS = 5_000;

/**
 * `ledger project`: the projector as its own process. It follows $all into
 * $LEDGER_DATA_DIR/read.db until SIGTERM/SIGINT; the API then runs with LEDGER_PROJECTOR=off
 * and reads that file. Exits non-zero on a failure, for the supervisor to restart it: the
 * checkpoint commits with the rows, so a restart (or a SIGKILL) neither skips nor repeats.
 */
export function registerProjectCommand(program: Command): void {
  program
    .command('project')
    .description('run the projector alone: follow every event into $LEDGER_DATA_DIR/read.db (run the API with LEDGER_PROJECTOR=off)')
    .option('--batch <events>', 'events per read-store transaction', String(PROJECTION_BATCH_SIZE_DEFAULT))
    .action(async (opts: { batch: string }) => {
      const env = readServiceEnv();
      const batchSize = Number(opts.batch);
      if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error('--batch must be a positive integer');
      const logger = new JsonLogger();
      mkdirSync(env.dataDir, { recursive: true });
      const opened = openEventStore(env);
      const file = readStorePath(env.dataDir);
      const readStore = ReadStore.open(file, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
      let lastLog = Date.now();
      let lastApplied = 0;
      const runner = new ProjectionRunner(opened.store, readStore, {
        batchSize,
        onReset: (why) => logger.event('warn', 'read store reset', { why }),
        onBatch: (b) => {
          const now = Date.now();
          if (now - lastLog < LOG_EVERY_MS) return;
          const eventsPerSecond = Math.round(((b.eventsApplied - lastApplied) * 1000) / (now - lastLog));
          lastLog = now;
          lastApplied = b.eventsApplied;
          logger.event('info', 'projecting', { position: b.position, eventsApplied: b.eventsApplied, eventsPerSecond });
        },
      });
      const stop = () => void runner.stop();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      logger.event('info', 'projector started', {
        readStore: file,
        from: readStore.checkpoint().position ?? null,
        store: opened.kind,
        where: opened.where,
      });
      try {
        await runner.run();
        logger.event('info', 'projector stopped', { position: runner.position() ?? null, eventsApplied: runner.eventsApplied() });
      } finally {
        readStore.close();
        await opened.store.close();
      }
    });
}
