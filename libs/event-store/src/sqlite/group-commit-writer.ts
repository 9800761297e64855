import { Worker } from 'node:worker_threads';
import {
  AppendToWrite,
  BatchWriter,
  WriteOutcome,
  WriterReply,
  WriterRequest,
  WriterWorkerData,
  flattenBatch,
  sqliteWriterProgram,
  unflattenOutcomes,
} from './sqlite-batch-writer';
import { WorkerCalls } from './worker-calls';

/**
 * Where a group commit runs. Writes are committed in the order they are called, each in its
 * own transaction: the store has at most COMMITS_IN_FLIGHT_WORKER unanswered with a worker
 * writer, one with an inline writer (which answers before it returns).
 */
export interface GroupCommitWriter {
  write(batch: AppendToWrite[], recordedAt: string): Promise<{ outcomes: WriteOutcome[]; durationMs: number }>;
  close(): Promise<void>;
}

/** On the caller's thread: the commit and its fsync block the event loop while they run. */
export class InlineWriter implements GroupCommitWriter {
  constructor(private readonly writer: BatchWriter) {}

  async write(batch: AppendToWrite[], recordedAt: string): Promise<{ outcomes: WriteOutcome[]; durationMs: number }> {
    const started = performance.now();
    const outcomes = this.writer.write(batch, recordedAt);
    return { outcomes, durationMs: performance.now() - started };
  }

  async close(): Promise<void> {
    // The connection is the store's own; it closes it.
  }
}

/** A failed commit in the worker, with SQLite's error code (SQLITE_BUSY, SQLITE_FULL, SQLITE_IOERR…). */
export class SqliteWriteFailed extends Error {
  override readonly name = 'SqliteError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** The writer thread ended (a crash of the thread, or the store closing): nothing more is written. */
export class WriterThreadGone extends Error {
  override readonly name = 'WriterThreadGone';
}

/**
 * In a worker thread with its own connection to the file: the event loop goes on parsing and
 * deciding requests while a group commit is written and fsynced. An append is still
 * acknowledged only once the worker has committed it.
 */
export class WorkerWriter implements GroupCommitWriter {
  private readonly worker: Worker;
  private readonly calls: WorkerCalls<{ outcomes: WriteOutcome[]; durationMs: number }>;
  private broken: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(file: string, busyTimeoutMs: number) {
    const workerData: WriterWorkerData = { sqliteWriter: { file, busyTimeoutMs, driver: require.resolve('better-sqlite3') } };
    this.worker = new Worker(`(${sqliteWriterProgram.toString()})()`, { eval: true, workerData });
    this.calls = new WorkerCalls(this.worker);
    // Idle, the writer must not keep a process alive; a pending commit does (see `write`).
    this.worker.unref();
    this.worker.on('message', (reply: WriterReply) => this.settle(reply));
    this.worker.on('error', (error) => this.breakWith(new WriterThreadGone(`the SQLite writer thread failed: ${error.message}`)));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.breakWith(new WriterThreadGone(`the SQLite writer thread exited (code ${code})`));
        resolve();
      }),
    );
  }

  write(batch: AppendToWrite[], recordedAt: string): Promise<{ outcomes: WriteOutcome[]; durationMs: number }> {
    if (this.broken) return Promise.reject(this.broken);
    // Only the data crosses to the worker, flat: the callers' callbacks stay here.
    const flat = flattenBatch(batch);
    return this.calls.call((id) => this.worker.postMessage({ id, batch: flat, recordedAt } satisfies WriterRequest));
  }

  async close(): Promise<void> {
    // Held until the thread is gone: an unref'd worker would let the process end while its
    // caller still waits here, and skip whatever the caller does next (an exit code, say).
    this.worker.ref();
    if (!this.broken) this.worker.postMessage('close');
    await this.exited;
  }

  private settle(reply: WriterReply): void {
    if ('ready' in reply) return;
    if ('startFailure' in reply) {
      this.breakWith(new SqliteWriteFailed(reply.startFailure.message, reply.startFailure.code));
      void this.worker.terminate();
      return;
    }
    if ('failure' in reply) this.calls.answer(reply.id, { error: new SqliteWriteFailed(reply.failure.message, reply.failure.code) });
    else this.calls.answer(reply.id, { value: { outcomes: unflattenOutcomes(reply.outcomes), durationMs: reply.durationMs } });
  }

  /** Nothing more can be written: every commit waiting gets the error, as does every later one. */
  private breakWith(error: Error): void {
    this.broken ??= error;
    this.calls.refuseAll(this.broken);
  }
}
