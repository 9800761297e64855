/**
 * A period close calculates its statement by reading the whole log up to the cut-off: for a
 * SQLite store that is seconds of decoding, classifying and hashing (the Merkle root over
 * every settled event is one synchronous stretch). On the request thread it stops every
 * write the service is answering meanwhile. For a store in a file, the calculation therefore
 * runs in a worker thread with its own read connection: the same function
 * (`calculatePeriodStatement`) over the same events up to the same cut-off, so the statement
 * and its sha256 are the ones the request thread would have made, while the event loop goes
 * on answering. It does so for a store that keeps its long work off the event loop (opened
 * with writer: 'worker', as `ledger serve` and the CLI open it); other stores (memory,
 * EventStoreDB, an inline SQLite store) calculate on the caller's thread.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { AssertionFailed } from '@ledger/domain';
import { EventStore, StoreUnavailable } from '@ledger/event-store';
import { libraryWorkerData, lowerThisThreadsPriority, startLibraryWorker, workerAnswer } from '@ledger/event-store/library-worker';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { calculatePeriodStatement } from './period-statement';
import { SettlementStatement } from './statement.types';

type Coalition = { currency: string; pointValueMinor: number };

/** What the worker is told: the store's file and the close to calculate. */
interface StatementJob {
  file: string;
  busyTimeoutMs: number;
  periodId: string;
  cutoffPosition: number;
  coalition: Coalition;
}

type WorkerMessage =
  | { progress: number }
  | { statement: SettlementStatement }
  | { failure: { name: string; message: string; code?: string; operation?: string } };

/**
 * The statement of a close at `cutoffPosition`: in a worker thread when `store` is a SQLite
 * file whose work runs in worker threads, on this thread otherwise. Either way the result is
 * `calculatePeriodStatement`'s.
 */
export function calculateCloseStatement(
  store: EventStore,
  periodId: string,
  cutoffPosition: number,
  coalition: Coalition,
  onPage?: (position: number) => void,
): Promise<SettlementStatement> {
  if (store instanceof SqliteEventStore && store.workerThreads) {
    return calculatePeriodStatementInWorker(store.file, periodId, cutoffPosition, coalition, onPage);
  }
  return calculatePeriodStatement(store, periodId, cutoffPosition, coalition, onPage);
}

/** `calculatePeriodStatement` over the SQLite file `file`, in a worker thread of its own. */
export function calculatePeriodStatementInWorker(
  file: string,
  periodId: string,
  cutoffPosition: number,
  coalition: Coalition,
  onPage?: (position: number) => void,
): Promise<SettlementStatement> {
  const job: StatementJob = { file, busyTimeoutMs: 5_000, periodId, cutoffPosition, coalition: { ...coalition } };
  const worker = startLibraryWorker(__filename, 'runStatementJob', job);
  // The worker ends by itself once it has answered and closed its connection.
  return workerAnswer<WorkerMessage, SettlementStatement>(worker, 'statement worker', (message) => {
    if ('progress' in message) {
      onPage?.(message.progress);
      return undefined;
    }
    return 'statement' in message ? { value: message.statement } : { error: failureOf(message.failure) };
  });
}

/** The worker's error as the same kind of error here, so the caller answers as it would inline. */
function failureOf(failure: { name: string; message: string; operation?: string }): Error {
  if (failure.name === 'StoreUnavailable')
    return new StoreUnavailable('read', failure.message.replace(/^event store unavailable \(\w+\): /, ''));
  if (failure.name === 'AssertionFailed') return new AssertionFailed(failure.message);
  return new Error(failure.message);
}

/** How much lower than the request thread a close's worker runs (nice 0..19). */
const CLOSE_THREAD_NICE = 10;

/** The worker's side: one statement, from its own connection to the file, then it is done. */
export function runStatementJob(): void {
  if (isMainThread || !parentPort) throw new Error('runStatementJob runs in the statement worker');
  const port = parentPort;
  const job = libraryWorkerData<StatementJob>();
  const post = (message: WorkerMessage) => port.postMessage(message);
  lowerThisThreadsPriority(CLOSE_THREAD_NICE);
  void (async () => {
    const store = SqliteEventStore.open(job.file, { busyTimeoutMs: job.busyTimeoutMs });
    try {
      post({
        statement: await calculatePeriodStatement(store, job.periodId, job.cutoffPosition, job.coalition, (p) => post({ progress: p })),
      });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      post({ failure: { name: e.name, message: e.message } });
    } finally {
      await store.close();
    }
  })();
}
