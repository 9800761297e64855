/**
 * The hash chains are the one check of verify that needs nothing but the events: no fold,
 * no read model. Hashing every event (canonical JSON + sha256) is a fifth of a verify's
 * CPU, so for a store in a file the chains are checked in a worker thread with its own read
 * connection, over the same positions, while the caller's thread folds and compares. The
 * checker is the same `ChainChecker`, fed the same events in the same order, so it finds
 * the same divergences in the same order. Other stores (memory, EventStoreDB, an inline
 * SQLite store) check the chains on the caller's thread, inside its one read of the log.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { EventStore } from '@ledger/event-store';
import { libraryWorkerData, startLibraryWorker } from '@ledger/event-store/library-worker';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ChainChecker } from './chain-check';
import { Divergence } from './divergence';

/** What the chains came to over positions 0..upTo. */
export interface ChainCheckOutcome {
  events: number;
  streams: number;
  /** How many divergences, and the first `max` of them in log order. */
  count: number;
  divergences: Divergence[];
}

/** A chain check running in a worker: its outcome, or a way to stop it when verify stops early. */
export interface ChainCheckInWorker {
  outcome: Promise<ChainCheckOutcome>;
  stop(): Promise<void>;
}

interface ChainJob {
  file: string;
  busyTimeoutMs: number;
  upTo: number;
  max: number;
}

type WorkerMessage = { outcome: ChainCheckOutcome } | { failure: { name: string; message: string } };

/** Whether `store`'s chains can be checked off this thread: a SQLite file whose long work runs in worker threads. */
export function chainsCheckableInWorker(store: EventStore): store is SqliteEventStore {
  return store instanceof SqliteEventStore && store.workerThreads;
}

/** Starts checking the chains of the SQLite file `file` up to `upTo` (inclusive) in a worker thread. */
export function checkChainsInWorker(file: string, upTo: number, max: number): ChainCheckInWorker {
  const job: ChainJob = { file, busyTimeoutMs: 5_000, upTo, max };
  const worker = startLibraryWorker(__filename, 'runChainCheckJob', job);
  const outcome = new Promise<ChainCheckOutcome>((resolve, reject) => {
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      done();
    };
    worker.on('message', (message: WorkerMessage) => {
      if ('outcome' in message) settle(() => resolve(message.outcome));
      else settle(() => reject(new Error(`the chain check failed: ${message.failure.message}`)));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the chain-check worker exited (code ${code}) before answering`))));
  });
  // A verify that fails elsewhere stops the worker and never reads its outcome.
  outcome.catch(() => undefined);
  return {
    outcome,
    stop: async () => {
      await worker.terminate();
    },
  };
}

/** The worker's side: one pass over the log from its own connection, then it is done. */
export function runChainCheckJob(): void {
  if (isMainThread || !parentPort) throw new Error('runChainCheckJob runs in the chain-check worker');
  const port = parentPort;
  const job = libraryWorkerData<ChainJob>();
  void (async () => {
    let store: SqliteEventStore | undefined;
    try {
      store = SqliteEventStore.open(job.file, { busyTimeoutMs: job.busyTimeoutMs });
      const chain = new ChainChecker();
      const divergences: Divergence[] = [];
      let count = 0;
      await store.scanAll({ upTo: job.upTo }, (e) => {
        const d = chain.check(e);
        if (d === undefined) return;
        count += 1;
        if (divergences.length < job.max) divergences.push(d);
      });
      port.postMessage({ outcome: { ...chain.counts(), count, divergences } } satisfies WorkerMessage);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({ failure: { name: e.name, message: e.message } } satisfies WorkerMessage);
    } finally {
      await store?.close();
    }
  })();
}
