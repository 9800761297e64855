import { Worker } from 'node:worker_threads';
import { WorkerCalls } from './worker-calls';
import type Database from 'better-sqlite3';

/** One stream read, as `readStream` asks it: rows from `revision` on (forwards) or down from it (backwards). */
export interface StreamReadRequest {
  id: number;
  streamId: string;
  revision: number;
  maxCount: number;
  backwards: boolean;
  /** The metadata column holds its hash alone (`metadata: 'hash'`). */
  hashOnly: boolean;
}

/** A read's rows (raw, in the store's column order), or the error SQLite raised, with its code. */
export type StreamReadAnswer = { id: number; rows: unknown[][] } | { id: number; failure: { message: string; code: string | undefined } };

/** The answers to one message of reads, in the order asked; or why the thread could not start. */
export type StreamReadReply = { answers: StreamReadAnswer[] } | { startFailure: { message: string; code: string | undefined } };

export interface ReaderWorkerData {
  sqliteStreamReader: { file: string; driver: string; busyTimeoutMs: number } & StreamReadSql;
}

/** The reads' statements, whole metadata or its hash alone, forwards and backwards. */
export interface StreamReadSql {
  forwards: string;
  backwards: string;
  forwardsHash: string;
  backwardsHash: string;
}

/** The reader thread could not start or has ended: the store reads on its own connection again. */
export class ReaderThreadGone extends Error {
  override readonly name = 'ReaderThreadGone';
}

/** SQLite refused the read in the reader thread (SQLITE_BUSY, SQLITE_IOERR…): the store's fault, as an inline read's would be. */
export class SqliteReadFailed extends Error {
  override readonly name = 'SqliteError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Stream reads in a worker thread with its own connection. Loading a member that is not in the
 * cache reads its rows from pages all over the file; on the request thread that read was the
 * largest single cost of an accrual for a member drawn at random. Here the request thread only
 * posts the question and decodes the rows it gets back. Each read is a statement of its own, so
 * it sees every commit acknowledged before it was asked (read your writes).
 */
export class WorkerStreamReader {
  private readonly worker: Worker;
  private readonly calls: WorkerCalls<unknown[][]>;
  private gone: ReaderThreadGone | undefined;
  private readonly exited: Promise<void>;
  /** Reads asked since the last message: they go to the thread together, in one message. */
  private asked: StreamReadRequest[] = [];
  private sendScheduled = false;

  constructor(file: string, busyTimeoutMs: number, sql: StreamReadSql) {
    const data: ReaderWorkerData = { sqliteStreamReader: { file, driver: require.resolve('better-sqlite3'), busyTimeoutMs, ...sql } };
    this.worker = new Worker(`(${sqliteStreamReaderProgram.toString()})()`, { eval: true, workerData: data });
    this.calls = new WorkerCalls(this.worker);
    // Idle, the reader must not keep a process alive; a read waiting does (see `read`).
    this.worker.unref();
    this.worker.on('message', (reply: StreamReadReply) => this.settle(reply));
    this.worker.on('error', (error) => this.end(`the SQLite reader thread failed: ${error.message}`));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.end(`the SQLite reader thread exited (code ${code})`);
        resolve();
      }),
    );
  }

  /** Whether reads can still be asked of the thread; once it is gone they are the caller's to make. */
  get available(): boolean {
    return this.gone === undefined;
  }

  read(streamId: string, revision: number, maxCount: number, backwards: boolean, hashOnly = false): Promise<unknown[][]> {
    if (this.gone) return Promise.reject(this.gone);
    return this.calls.call((id) => {
      this.asked.push({ id, streamId, revision, maxCount, backwards, hashOnly });
      if (this.sendScheduled) return;
      this.sendScheduled = true;
      // Each message wakes the thread (a system call each side): the reads asked while this
      // turn of the event loop runs go together, as appends share a group commit.
      setImmediate(() => this.send());
    });
  }

  private send(): void {
    this.sendScheduled = false;
    const reads = this.asked;
    this.asked = [];
    if (reads.length === 0) return;
    if (this.gone) {
      for (const r of reads) this.calls.answer(r.id, { error: this.gone });
      return;
    }
    this.worker.postMessage(reads);
  }

  /** Lets the reads asked finish, then ends the thread (never stopped inside SQLite). */
  async close(): Promise<void> {
    this.worker.ref();
    this.send();
    if (!this.gone) this.worker.postMessage('close');
    await this.exited;
  }

  private settle(reply: StreamReadReply): void {
    if ('startFailure' in reply) {
      this.end(`the SQLite reader thread could not open the file: ${reply.startFailure.message}`);
      void this.worker.terminate();
      return;
    }
    for (const answer of reply.answers) {
      if ('failure' in answer) this.calls.answer(answer.id, { error: new SqliteReadFailed(answer.failure.message, answer.failure.code) });
      else this.calls.answer(answer.id, { value: answer.rows });
    }
  }

  private end(reason: string): void {
    this.gone ??= new ReaderThreadGone(reason);
    this.calls.refuseAll(this.gone);
  }
}

/**
 * The reader thread's program, run from its source text (as the writer's is): it may use
 * nothing from this module's scope, only `require` inside its body.
 */
export function sqliteStreamReaderProgram(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- run from its source text in a worker: no module scope */
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const data = (threads.workerData as ReaderWorkerData | undefined)?.sqliteStreamReader;
  const port = threads.parentPort;
  if (threads.isMainThread || !port || !data) return;
  const failure = (error: unknown) => ({
    message: error instanceof Error ? error.message : String(error),
    code: (error as { code?: unknown }).code === undefined ? undefined : String((error as { code?: unknown }).code),
  });
  try {
    const BetterSqlite = require(data.driver) as typeof Database;
    const db = new BetterSqlite(data.file, { timeout: data.busyTimeoutMs, fileMustExist: true });
    // This connection only reads: a mistake here cannot write to the log.
    db.pragma('query_only = ON');
    const forwards = db.prepare(data.forwards).raw(true);
    const backwards = db.prepare(data.backwards).raw(true);
    const forwardsHash = db.prepare(data.forwardsHash).raw(true);
    const backwardsHash = db.prepare(data.backwardsHash).raw(true);
    port.on('message', (reads: StreamReadRequest[] | 'close') => {
      if (reads === 'close') {
        db.close();
        port.close();
        return;
      }
      const answers = reads.map((read): StreamReadAnswer => {
        try {
          const statement = read.hashOnly ? (read.backwards ? backwardsHash : forwardsHash) : read.backwards ? backwards : forwards;
          return { id: read.id, rows: statement.all(read.streamId, read.revision, read.maxCount) as unknown[][] };
        } catch (error) {
          return { id: read.id, failure: failure(error) };
        }
      });
      port.postMessage({ answers } satisfies StreamReadReply);
    });
  } catch (error) {
    port.postMessage({ startFailure: failure(error) } satisfies StreamReadReply);
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
}
