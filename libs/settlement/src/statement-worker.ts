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
 *
 * A long log is read in two halves on two threads (STATEMENT_SPLIT_MIN_POSITIONS): every
 * figure of a statement is a sum and every list is sorted before it is sealed, and a Merkle
 * leaf does not depend on the order, so the first worker absorbs the second's sums and leaves
 * and seals the same bytes. The second then hashes one half of the tree's inner nodes while
 * the first hashes the other. On a 1M-event period, alternating runs on the 2-core bench
 * machine took 8.1 s against 12.6–13.1 s on one thread.
 */
import { MessagePort, Worker, isMainThread, parentPort } from 'node:worker_threads';
import { AssertionFailed } from '@ledger/domain';
import { EventStore, StoreUnavailable } from '@ledger/event-store';
import {
  WorkerFailure,
  libraryWorkerData,
  lowerThisThreadsPriority,
  startLibraryWorker,
  workerAnswer,
  workerFailure,
} from '@ledger/event-store/library-worker';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { merkleTopOf } from '@ledger/integrity';
import {
  PeriodStatementCalculation,
  PeriodStatementPart,
  SettlementReferences,
  calculatePeriodStatement,
  moneyScan,
  readSettlementReferences,
} from './period-statement';
import { SettlementStatement } from './statement.types';

type Coalition = { currency: string; pointValueMinor: number };

/** What the worker is told: the store's file and the close to calculate. */
interface StatementJob {
  file: string;
  busyTimeoutMs: number;
  periodId: string;
  cutoffPosition: number;
  coalition: Coalition;
  /** From this many positions up to the cut-off, the log is read in two parts (STATEMENT_SPLIT_MIN_POSITIONS). */
  splitMinPositions: number;
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
  options: { splitMinPositions?: number } = {},
): Promise<SettlementStatement> {
  const splitMinPositions = options.splitMinPositions ?? STATEMENT_SPLIT_MIN_POSITIONS;
  const job: StatementJob = { file, busyTimeoutMs: 5_000, periodId, cutoffPosition, coalition: { ...coalition }, splitMinPositions };
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

/**
 * From this many positions up to the cut-off, the close reads the log in two parts on two
 * threads: the statement worker reads the first half, a second worker the rest, and the first
 * absorbs the second's sums and Merkle leaves. Below it a second thread costs more to start
 * than it saves.
 */
export const STATEMENT_SPLIT_MIN_POSITIONS = 100_000;

/** What the second worker is told: the same close, the references already read, and where its part begins. */
interface StatementPartJob extends StatementJob {
  references: SettlementReferences;
  /** The part is the positions after this one, up to the cut-off. */
  after: number;
}

type PartMessage = { progress: number } | { part: PeriodStatementPart } | { top: Uint8Array } | { failure: WorkerFailure };
/** After its part, the second worker hashes one half of the Merkle tree (PeriodStatementCalculation.finishSplit). */
type PartRequest = { subtree: Uint8Array; count: number };

/**
 * What both statement workers do around their work: take their job, run below the request
 * thread's priority on a connection of their own to the file, and answer a failure with one
 * message (the caller turns it back into an error of the same kind, failureOf).
 */
function inStatementWorker<J extends StatementJob, M>(
  entry: string,
  work: (job: J, store: SqliteEventStore, post: (message: M) => void, port: MessagePort) => Promise<void>,
): void {
  if (isMainThread || !parentPort) throw new Error(`${entry} runs in a statement worker`);
  const port = parentPort;
  const job = libraryWorkerData<J>();
  const post = (message: M | { failure: WorkerFailure }) => port.postMessage(message);
  lowerThisThreadsPriority(CLOSE_THREAD_NICE);
  void (async () => {
    const store = SqliteEventStore.open(job.file, { busyTimeoutMs: job.busyTimeoutMs });
    try {
      await work(job, store, post, port);
    } catch (error) {
      post({ failure: workerFailure(error) });
    } finally {
      await store.close();
    }
  })();
}

/** The worker's side: one statement, from its own connection to the file, then it is done. */
export function runStatementJob(): void {
  inStatementWorker<StatementJob, WorkerMessage>('runStatementJob', async (job, store, post) => {
    const references = await readSettlementReferences(store, job.cutoffPosition);
    const calculation = new PeriodStatementCalculation(job.periodId, job.cutoffPosition, job.coalition, references);
    const split = job.cutoffPosition >= job.splitMinPositions ? Math.floor(job.cutoffPosition / 2) : undefined;
    // Progress is the positions read in both parts, so it still ends at the cut-off.
    let readHere = 0;
    let readThere = 0;
    const second =
      split === undefined
        ? undefined
        : calculatePartInWorker({ ...job, references, after: split }, (position) => {
            readThere = position - split;
            post({ progress: readHere + readThere });
          });
    // Should this thread fail first, the other's outcome is not awaited: keep it from going unhandled.
    second?.part.catch(() => undefined);
    try {
      await store.scanAll(
        moneyScan(split ?? job.cutoffPosition, (position) => {
          readHere = position;
          post({ progress: readHere + readThere });
        }),
        (e) => calculation.add(e),
      );
      if (second === undefined) {
        post({ statement: calculation.finish() });
      } else {
        calculation.sortLeaves();
        calculation.absorb(await second.part);
        post({ statement: await calculation.finishSplit((nodes, count) => hashSubtreeInWorker(second.worker, nodes, count)) });
      }
    } finally {
      await second?.worker.terminate();
    }
  });
}

/** One part of a close, in a worker of its own: the sums and leaves of the positions after `job.after`. */
function calculatePartInWorker(
  job: StatementPartJob,
  onProgress: (position: number) => void,
): { worker: Worker; part: Promise<PeriodStatementPart> } {
  const worker = startLibraryWorker(__filename, 'runStatementPartJob', job);
  const part = workerAnswer<PartMessage, PeriodStatementPart>(worker, 'statement part worker', (message) => {
    if ('progress' in message) {
      onProgress(message.progress);
      return undefined;
    }
    if ('part' in message) return { value: message.part };
    return 'failure' in message ? { error: failureOf(message.failure) } : undefined;
  });
  return { worker, part };
}

/** The top node of `count` Merkle nodes, hashed up by the second worker. */
function hashSubtreeInWorker(worker: Worker, nodes: Uint8Array, count: number): Promise<Uint8Array> {
  const answer = workerAnswer<PartMessage, Uint8Array>(worker, 'statement part worker', (message) => {
    if ('top' in message) return { value: message.top };
    return 'failure' in message ? { error: failureOf(message.failure) } : undefined;
  });
  // A copy of just these nodes, handed over rather than copied again.
  const subtree = new Uint8Array(nodes);
  const request: PartRequest = { subtree, count };
  worker.postMessage(request, [subtree.buffer]);
  return answer;
}

/**
 * The second worker's side: its part of the log, summed and handed back; then, asked, one
 * half of the Merkle tree. The first worker ends it.
 */
export function runStatementPartJob(): void {
  inStatementWorker<StatementPartJob, PartMessage>('runStatementPartJob', async (job, store, post, port) => {
    const calculation = new PeriodStatementCalculation(job.periodId, job.cutoffPosition, job.coalition, job.references);
    await store.scanAll({ ...moneyScan(job.cutoffPosition, (p) => post({ progress: p })), after: job.after }, (e) => calculation.add(e));
    port.on('message', (request: PartRequest) => {
      try {
        post({ top: merkleTopOf(request.subtree, request.count) });
      } catch (error) {
        post({ failure: workerFailure(error) });
      }
    });
    post({ part: calculation.part() });
  });
}
