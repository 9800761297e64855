/**
 * A catch-up (`ledger rebuild`, `ledger project`, `ledger report`) spends more than half of
 * its time in SQLite writing the read models' rows, and most of the rest reading the log and
 * staging. One thread did both in turn; here the calling thread reads and stages the next batch
 * while a worker thread, with its own connection to the read store, writes the one before.
 * The batch crosses as each read model's sums (`ReadModelStaging.take`), and the worker writes
 * them with the same `ReadModelWriter`: the same statements, the same transaction, the same
 * compare-and-set on the checkpoint.
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { RecordedEvent } from '@ledger/event-store';
import { WorkerFailure, libraryWorkerData, startLibraryWorker, workerFailure } from '@ledger/event-store/library-worker';
import { CheckpointMoved, ReadModelWriter } from './read-model-writer';
import { EventDispatch, READ_MODELS, ReadModelStaging, TakenBatch } from './read-models';
import { ReadStore } from './read-store';
import { ProjectionWriter, ReadModelStore } from './read-store-port';

interface FlushJob {
  file: string;
  cacheMiB: number;
  busyTimeoutMs: number;
}

type ToWorker = { commit: { id: number; batch: TakenBatch; expected: number | undefined } } | { close: true };
type FromWorker = {
  id: number;
  /** How long the worker took to write the batch, ms. */
  ms?: number;
  failure?: WorkerFailure & { expected?: number; found?: number };
};

/**
 * The writer a catch-up uses: off this thread for a SQLite read store in a file, the store's
 * own otherwise (PostgreSQL writes on its server; an in-memory store is this thread's).
 */
export function catchUpWriter(readStore: ReadModelStore): ProjectionWriter {
  return readStore instanceof ReadStore && readStore.file !== ':memory:' && !readStore.readonly
    ? new ReadModelFlushThread(readStore)
    : readStore.createWriter();
}

/** Stages on the calling thread; a worker thread writes each batch (one at a time, in order). */
export class ReadModelFlushThread implements ProjectionWriter {
  readonly stagesWhileCommitting = true;
  private readonly dispatch = new EventDispatch<ReadModelStaging>(READ_MODELS.map((model) => ({ model, batch: model.staging() })));
  private readonly job: FlushJob;
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly answers = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private writingMs = 0;

  constructor(readStore: ReadStore) {
    this.job = { file: readStore.file, cacheMiB: readStore.cacheMiB, busyTimeoutMs: readStore.busyTimeoutMs };
  }

  stage(event: RecordedEvent): void {
    this.dispatch.stage(event);
  }

  stagedEvents(): number {
    return this.dispatch.staged;
  }

  /** Seconds the worker has spent writing batches so far: with the caller's own time, what bounds a catch-up. */
  writingSeconds(): number {
    return this.writingMs / 1000;
  }

  /** Hands the staged batch to the worker; resolves once it is written (or rejects, nothing of it written). */
  commitStaged(expectedCheckpoint: number | undefined): Promise<void> {
    const batch = this.dispatch.take();
    const worker = this.running();
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.answers.set(id, { resolve, reject });
      worker.postMessage({ commit: { id, batch, expected: expectedCheckpoint } } satisfies ToWorker);
    });
  }

  discardStaged(): void {
    this.dispatch.discard();
  }

  /** Ends the worker once it has answered every batch; a later commit starts another. */
  async release(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ close: true } satisfies ToWorker);
    await exited;
  }

  private running(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = startLibraryWorker(__filename, 'runReadModelFlushThread', this.job);
    worker.on('message', (message: FromWorker) => {
      const answer = this.answers.get(message.id);
      if (answer === undefined) return;
      this.answers.delete(message.id);
      this.writingMs += message.ms ?? 0;
      if (message.failure === undefined) answer.resolve();
      else answer.reject(errorOf(message.failure));
    });
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const answer of this.answers.values()) answer.reject(error);
      this.answers.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the read-model flush thread exited (code ${code}) before writing its batch`)));
    this.worker = worker;
    return worker;
  }
}

/** The worker's failure as the caller would have seen it on its own thread (a moved checkpoint is retried by a rebuild). */
function errorOf(failure: NonNullable<FromWorker['failure']>): Error {
  if (failure.name === 'CheckpointMoved') return new CheckpointMoved(failure.expected, failure.found);
  const error = new Error(failure.message);
  error.name = failure.name;
  return error;
}

/** The worker's side: writes each batch it is handed, in the order handed, and answers. */
export function runReadModelFlushThread(): void {
  if (isMainThread || !parentPort) throw new Error('runReadModelFlushThread runs in a worker thread');
  const port = parentPort;
  const job = libraryWorkerData<FlushJob>();
  let store: ReadStore | undefined;
  let writer: ReadModelWriter | undefined;
  port.on('message', (message: ToWorker) => {
    if ('close' in message) {
      store?.close();
      port.close();
      return;
    }
    const { id, batch, expected } = message.commit;
    const started = performance.now();
    try {
      store ??= ReadStore.open(job.file, { cacheMiB: job.cacheMiB, busyTimeoutMs: job.busyTimeoutMs });
      writer ??= store.createWriter();
      writer.commitTaken(batch, expected);
      port.postMessage({ id, ms: performance.now() - started } satisfies FromWorker);
    } catch (error) {
      const failure =
        error instanceof CheckpointMoved ? { ...workerFailure(error), expected: error.expected, found: error.found } : workerFailure(error);
      port.postMessage({ id, failure } satisfies FromWorker);
    }
  });
}
