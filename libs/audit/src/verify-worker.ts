/**
 * Two parts of verify need nothing but the events, no fold and no read model: the hash
 * chains, and the closed periods' statements recomputed. Hashing every event (canonical
 * JSON + sha256) is a fifth of a verify's CPU and a statement with its Merkle root another
 * good part, so for a store in a file both run in a worker thread with its own read
 * connection, over the same positions, while the caller's thread folds and compares. They
 * are the same `ChainChecker` and `PeriodStatementCalculation`, fed the same events in the
 * same order, so they find the same divergences in the same order and the same statements.
 * Other stores (memory, EventStoreDB, an inline SQLite store) do both on the caller's
 * thread, inside its one read of the log.
 */
import { ResourceLimits, isMainThread, parentPort } from 'node:worker_threads';
import { EventStore, RecordedEvent } from '@ledger/event-store';
import {
  WorkerFailure,
  libraryWorkerData,
  lowerThisThreadsPriority,
  startLibraryWorker,
  workerAnswer,
  workerFailure,
} from '@ledger/event-store/library-worker';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { PeriodStatementCalculation, SettlementReferences, SettlementStatement } from '@ledger/settlement';
import { ChainChecker } from './chain-check';
import { Divergence } from './divergence';

/** A filed statement to recompute: what `PeriodStatementCalculation` is made with. */
export interface StatementToRecompute {
  periodId: string;
  cutoffPosition: number;
  coalition: { currency: string; pointValueMinor: number };
  references: SettlementReferences;
}

/** What the chains and the statements came to over positions 0..upTo. */
export interface LogCheckOutcome {
  events: number;
  streams: number;
  /** How many chain divergences, and the first `max` of them in log order. */
  count: number;
  divergences: Divergence[];
  /** Per period asked for: the statement recomputed, or why it could not be (the calculation's error message). */
  statements: { periodId: string; statement?: SettlementStatement; leafCount?: number; error?: string }[];
}

/** A check running in a worker: its outcome, or a way to stop it when verify stops early. */
export interface LogCheckInWorker {
  outcome: Promise<LogCheckOutcome>;
  stop(): Promise<void>;
}

interface LogCheckJob {
  file: string;
  busyTimeoutMs: number;
  upTo: number;
  max: number;
  statements: StatementToRecompute[];
}

type WorkerMessage = { outcome: LogCheckOutcome } | { failure: WorkerFailure };

/** Whether `store`'s log can be checked off this thread: a SQLite file whose long work runs in worker threads. */
export function logCheckableInWorker(store: EventStore): store is SqliteEventStore {
  return store instanceof SqliteEventStore && store.workerThreads;
}

/**
 * Starts checking the chains of the SQLite file `file` up to `upTo` (inclusive), and
 * recomputing `statements`, in a worker thread.
 */
export function checkLogInWorker(file: string, upTo: number, max: number, statements: StatementToRecompute[] = []): LogCheckInWorker {
  const job: LogCheckJob = { file, busyTimeoutMs: 5_000, upTo, max, statements };
  const worker = startLibraryWorker(__filename, 'runLogCheckJob', job, LOG_CHECK_WORKER_LIMITS);
  const outcome = workerAnswer<WorkerMessage, LogCheckOutcome>(worker, 'log-check worker', (message) =>
    'outcome' in message ? { value: message.outcome } : { error: new Error(`the log check failed: ${message.failure.message}`) },
  );
  // A verify that fails elsewhere stops the worker and never reads its outcome.
  outcome.catch(() => undefined);
  return {
    outcome,
    stop: async () => {
      await worker.terminate();
    },
  };
}

/** How much lower than the request thread the log check runs (nice 0..19), as a period close does. */
const LOG_CHECK_THREAD_NICE = 10;

/**
 * A larger young generation for the log-check worker, which decodes the whole log: every event
 * it reads is garbage a moment later. With V8's default, on a 1M-event store it spent about a
 * seventh of its time scavenging and finished after the main thread; with 192 MiB it finished
 * about a second before it.
 */
const LOG_CHECK_WORKER_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 192 };

/** The worker's side: one pass over the log from its own connection, then it is done. */
export function runLogCheckJob(): void {
  if (isMainThread || !parentPort) throw new Error('runLogCheckJob runs in the log-check worker');
  const port = parentPort;
  const job = libraryWorkerData<LogCheckJob>();
  // In `ledger serve` a verification runs beside the requests: let them go first (the CLI has the cores to itself).
  lowerThisThreadsPriority(LOG_CHECK_THREAD_NICE);
  void (async () => {
    let store: SqliteEventStore | undefined;
    try {
      store = SqliteEventStore.open(job.file, { busyTimeoutMs: job.busyTimeoutMs });
      const chain = new ChainChecker();
      const divergences: Divergence[] = [];
      let count = 0;
      const recomputations = job.statements.map((s) => ({
        periodId: s.periodId,
        calculation: new PeriodStatementCalculation(s.periodId, s.cutoffPosition, s.coalition, s.references) as
          PeriodStatementCalculation | undefined,
        error: undefined as unknown,
      }));
      await store.scanAll({ upTo: job.upTo }, (e) => {
        const d = chain.check(e);
        if (d !== undefined) {
          count += 1;
          if (divergences.length < job.max) divergences.push(d);
        }
        feedRecomputations(recomputations, e);
      });
      const statements = recomputations.map(({ periodId, calculation, error }) => {
        if (calculation === undefined) return { periodId, error: messageOf(error) };
        try {
          return { periodId, statement: calculation.finish(), leafCount: calculation.settledCount };
        } catch (finishing) {
          return { periodId, error: messageOf(finishing) };
        }
      });
      port.postMessage({ outcome: { ...chain.counts(), count, divergences, statements } } satisfies WorkerMessage);
    } catch (error) {
      port.postMessage({ failure: workerFailure(error) } satisfies WorkerMessage);
    } finally {
      await store?.close();
    }
  })();
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * One event of the log for each statement still being recomputed. The calculation asserts what
 * the log must hold (hashes, currencies); a tampered log may not, and that ends its recomputation
 * with the error.
 */
export function feedRecomputations(
  recomputations: Iterable<{ calculation?: PeriodStatementCalculation; error?: unknown }>,
  e: RecordedEvent,
): void {
  for (const r of recomputations) {
    if (r.calculation === undefined) continue;
    try {
      r.calculation.add(e);
    } catch (error) {
      r.calculation = undefined;
      r.error = error;
    }
  }
}
