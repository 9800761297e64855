import { mkdirSync } from 'node:fs';
import { Command } from 'commander';
import { openEventStore } from '@ledger/event-store';
import {
  PROJECTION_BATCH_SIZE_DEFAULT,
  ProjectionRunner,
  READ_STORE_CACHE_MIB_PROJECTOR,
  catchUpWriter,
  openReadModelStore,
} from '@ledger/projections';
import { createLogger } from '@ledger/api/http/logger';
import { readServiceEnv } from '../env-config';

const LOG_EVERY_MS = 5_000;

/** Backoff between restarts of the runner after a failure: doubles from the first to the cap. */
export const PROJECT_RETRY_DELAY_MS_FIRST = 250;
export const PROJECT_RETRY_DELAY_MS_MAX = 10_000;

/**
 * `ledger project`: the projector as its own process. It follows $all into the read store
 * ($LEDGER_READ_STORE: $LEDGER_DATA_DIR/read.db by default, or PostgreSQL) until SIGTERM/SIGINT; the API then runs with LEDGER_PROJECTOR=off
 * and reads that file. A failure of the runner (the event store going away, an EventStoreDB
 * node restarting) is logged as a warning and the runner is started again after a backoff
 * (250 ms doubling to 10 s, back to 250 ms once a batch commits): it resumes from the
 * read store's checkpoint, which commits with the rows, so a restart (or a SIGKILL)
 * neither skips nor repeats. Only bad options or an unopenable store or read store exit
 * non-zero.
 */
export function registerProjectCommand(program: Command): void {
  program
    .command('project')
    .description(
      'run the projector alone: follow every event into the read store ($LEDGER_READ_STORE, default $LEDGER_DATA_DIR/read.db; run the API with LEDGER_PROJECTOR=off)',
    )
    .option('--batch <events>', 'events per read-store transaction', String(PROJECTION_BATCH_SIZE_DEFAULT))
    .action(async (opts: { batch: string }) => {
      const env = readServiceEnv();
      const batchSize = Number(opts.batch);
      if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error('--batch must be a positive integer');
      const logger = createLogger({ level: env.logLevel });
      mkdirSync(env.dataDir, { recursive: true });
      const readStore = await openReadModelStore(env.readStore, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
      const opened = openEventStore(env);
      let lastLog = Date.now();
      let lastApplied = 0;
      const runner = new ProjectionRunner(opened.store, readStore, {
        batchSize,
        // Reads and stages on this thread while a thread of its own writes the batch before.
        writer: catchUpWriter(readStore),
        onReset: (why) => logger.warn({ why }, 'read store reset'),
        onBatch: (b) => {
          const now = Date.now();
          if (now - lastLog < LOG_EVERY_MS) return;
          const eventsPerSecond = Math.round(((b.eventsApplied - lastApplied) * 1000) / (now - lastLog));
          lastLog = now;
          lastApplied = b.eventsApplied;
          logger.info({ position: b.position, eventsApplied: b.eventsApplied, eventsPerSecond }, 'projecting');
        },
      });
      let stopping = false;
      let wake: (() => void) | undefined;
      const stop = () => {
        stopping = true;
        wake?.();
        void runner.stop();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      logger.info(
        {
          readStore: readStore.where,
          from: (await readStore.checkpoint()).position ?? null,
          store: opened.kind,
          where: opened.where,
        },
        'projector started',
      );
      try {
        let delayMs = PROJECT_RETRY_DELAY_MS_FIRST;
        let failures = 0;
        while (!stopping) {
          const appliedBefore = runner.eventsApplied();
          let failure: unknown;
          try {
            await runner.run();
          } catch (error) {
            failure = error;
          }
          if (stopping) break;
          // A run that committed something was healthy until it failed: retry soon.
          if (runner.eventsApplied() > appliedBefore) delayMs = PROJECT_RETRY_DELAY_MS_FIRST;
          failures++;
          logger.warn(
            {
              error: failure === undefined ? 'the subscription to $all ended' : describe(failure),
              position: runner.position() ?? null,
              eventsApplied: runner.eventsApplied(),
              failures,
              retryInMs: delayMs,
            },
            'projector failed; restarting from the read store checkpoint',
          );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delayMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          delayMs = Math.min(delayMs * 2, PROJECT_RETRY_DELAY_MS_MAX);
        }
        logger.info({ position: runner.position() ?? null, eventsApplied: runner.eventsApplied() }, 'projector stopped');
      } finally {
        process.removeListener('SIGTERM', stop);
        process.removeListener('SIGINT', stop);
        await readStore.close();
        await opened.store.close();
      }
    });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}: ${error.message}${code === undefined ? '' : ` (code ${String(code)})`}`;
}
