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
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { AssertionFailed } from '@ledger/domain';
import { EventStore, StoreUnavailable } from '@ledger/event-store';
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

interface BootstrapData {
  /** Where the libraries are: `<root>/libs` of the sources, or of the compiled tree. */
  libsRoot: string;
  /** This module's file, which the worker loads once `@ledger/*` resolves. */
  entry: string;
  /** Set when running from TypeScript sources (a test runner): the compiler the worker transpiles them with. */
  typescript?: string;
  job: StatementJob;
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
  const fromSources = __filename.endsWith('.ts');
  const data: BootstrapData = {
    // This file is <root>/libs/settlement/src/statement-worker.(ts|js).
    libsRoot: join(__dirname, '..', '..'),
    entry: __filename,
    typescript: fromSources ? require.resolve('typescript') : undefined,
    job: { file, busyTimeoutMs: 5_000, periodId, cutoffPosition, coalition: { ...coalition } },
  };
  const worker = new Worker(`(${statementWorkerBootstrap.toString()})()`, { eval: true, workerData: { statementWorker: data } });
  return new Promise<SettlementStatement>((resolve, reject) => {
    let settled = false;
    // The worker ends by itself once it has answered and closed its connection.
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      done();
    };
    worker.on('message', (message: WorkerMessage) => {
      if ('progress' in message) onPage?.(message.progress);
      else if ('statement' in message) settle(() => resolve(message.statement));
      else settle(() => reject(failureOf(message.failure)));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the statement worker exited (code ${code}) before answering`))));
  });
}

/** The worker's error as the same kind of error here, so the caller answers as it would inline. */
function failureOf(failure: { name: string; message: string; operation?: string }): Error {
  if (failure.name === 'StoreUnavailable')
    return new StoreUnavailable('read', failure.message.replace(/^event store unavailable \(\w+\): /, ''));
  if (failure.name === 'AssertionFailed') return new AssertionFailed(failure.message);
  return new Error(failure.message);
}

/**
 * Runs in the worker from its source text, like the SQLite writer's program: it makes
 * `@ledger/*` resolve to the libraries (compiled, or TypeScript compiled on load under a test
 * runner), then loads this module and calls `runStatementJob`. It may use nothing from this
 * module's scope, only `require` inside its body.
 */
function statementWorkerBootstrap(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- run from its source text in a worker: no module scope */
  const { workerData: given } = require('node:worker_threads') as typeof import('node:worker_threads');
  const Module = require('node:module') as any;
  const path = require('node:path') as typeof import('node:path');
  const data = (given as { statementWorker: BootstrapData }).statementWorker;
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function resolveLedgerAlias(request: string, ...rest: unknown[]) {
    if (request.startsWith('@ledger/')) {
      const [, lib, ...sub] = request.split('/');
      request = path.join(data.libsRoot, lib, 'src', ...sub);
    }
    return resolve.call(this, request, ...rest);
  };
  if (data.typescript) {
    // Transpiled once per source text and kept in a temporary directory: a test suite starts
    // many of these workers, and compiling the libraries again each time takes seconds.
    const fs = require('node:fs') as typeof import('node:fs');
    const os = require('node:os') as typeof import('node:os');
    const crypto = require('node:crypto') as typeof import('node:crypto');
    const cacheDir = path.join(os.tmpdir(), 'ledger-statement-worker-ts');
    let ts: any;
    Module._extensions['.ts'] = (module: any, filename: string) => {
      const source = fs.readFileSync(filename, 'utf8');
      const cached = path.join(cacheDir, `${crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex')}.js`);
      let output: string;
      try {
        output = fs.readFileSync(cached, 'utf8');
      } catch {
        ts ??= require(data.typescript!);
        output = ts.transpileModule(source, {
          fileName: filename,
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
            experimentalDecorators: true,
          },
        }).outputText;
        try {
          fs.mkdirSync(cacheDir, { recursive: true });
          const partial = `${cached}.${process.pid}.${Date.now()}`;
          fs.writeFileSync(partial, output);
          fs.renameSync(partial, cached);
        } catch {
          // A cache that cannot be written only costs the next worker the same compile.
        }
      }
      module._compile(output, filename);
    };
  }
  require(data.entry).runStatementJob();
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * A close is background work beside the requests the service answers: on Linux this thread
 * (not the process) is niced, so on a busy machine the request thread is scheduled first.
 * Best effort: elsewhere, or without the right, it runs at normal priority.
 */
function lowerThisThreadsPriority(): void {
  try {
    // /proc/thread-self links to <pid>/task/<tid>; setpriority on a tid changes that thread alone.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, CLOSE_THREAD_NICE);
  } catch {
    // Not Linux, or not allowed: the same statement, at the same priority as the rest.
  }
}

/** How much lower than the request thread a close's worker runs (nice 0..19). */
const CLOSE_THREAD_NICE = 10;

/** The worker's side: one statement, from its own connection to the file, then it is done. */
export function runStatementJob(): void {
  if (isMainThread || !parentPort) throw new Error('runStatementJob runs in the statement worker');
  const port = parentPort;
  const { job } = (workerData as { statementWorker: BootstrapData }).statementWorker;
  const post = (message: WorkerMessage) => port.postMessage(message);
  lowerThisThreadsPriority();
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
