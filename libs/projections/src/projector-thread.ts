/**
 * The API's projector in a worker thread of its own. On the request thread the projector
 * read every new event back from the log, folded it into the read models and committed them:
 * a profile of `ledger serve` under accruals put about half of that thread's time there
 * (bench/PROFILE.md). In a worker it runs on the second core with its own connections to the
 * event store file and the read store file, the same `ProjectionRunner` and the same
 * checkpoint rules; the request thread reads the read store through a read-only connection
 * and hears of each committed batch by message, so `?minPosition` waits end as soon as the
 * batch lands. The API wakes the worker after the group commits it makes, at most every
 * PROJECTOR_WAKE_INTERVAL_MS_DEFAULT.
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { assert } from '@ledger/domain';
import { EventStore } from '@ledger/event-store';
import { libraryWorkerData, startLibraryWorker } from '@ledger/event-store/library-worker';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { PositionWaiters } from './position-waiters';
import { ProjectionProgress, ProjectionRunner } from './projection-runner';
import { READ_STORE_CACHE_MIB_DEFAULT, ReadStore } from './read-store';

/** Events per read-store transaction in the projector thread: it stops no request, so a catch-up may take large batches. */
export const PROJECTOR_THREAD_BATCH_SIZE = 50_000;

/** How often the thread re-reads the log when nobody woke it: appends by other processes on the same file. */
const PROJECTOR_THREAD_POLL_MS = 200;

/**
 * The least time between two wakes of the thread after appends. A wake after a quiet spell
 * goes at once; under a steady load the group commits within this time share one wake, so the
 * thread commits its read store at most 50 times a second instead of once per group commit
 * (about 250 a second on 100 hot members). Each wake is a message from the request thread,
 * and each read-store commit takes the thread ~0.7 ms of a core that the writer and the
 * request thread also need: on line 10's load, 6,105 accruals/s against 5,728 with a wake per
 * group commit (three alternating runs of 40,000 each). A read with `?minPosition` waits up
 * to this much longer under load.
 */
export const PROJECTOR_WAKE_INTERVAL_MS_DEFAULT = 20;

/** After an unexpected end of the thread, it is started again after this much, doubling to the cap. */
const RESTART_DELAY_MS_FIRST = 200;
const RESTART_DELAY_MS_MAX = 30_000;

interface ProjectorJob {
  pollIntervalMs: number;
  eventStoreFile: string;
  readStoreFile: string;
  batchSize: number;
  busyTimeoutMs: number;
  cacheMiB: number;
}

type ToThread = { wake: true } | { stop: true };
type FromThread =
  | { ready: { position: number | undefined } }
  | { applied: { position: number } }
  | { reset: string }
  | { failed: string }
  | { startFailed: string };

export interface ProjectorThreadOptions {
  readStoreFile: string;
  batchSize?: number;
  busyTimeoutMs?: number;
  cacheMiB?: number;
  /** How often the thread re-reads the log when nobody woke it (default PROJECTOR_THREAD_POLL_MS). */
  pollIntervalMs?: number;
  /** The least time between two wakes after appends (default PROJECTOR_WAKE_INTERVAL_MS_DEFAULT; 0 wakes after every group commit). */
  wakeIntervalMs?: number;
  /** The runner found a read store of another event store and rebuilt it from position 0. */
  onReset?: (why: string) => void;
  /** The runner or the thread failed; it is started again (from the checkpoint) after a backoff. */
  onFailure?: (why: string, retryInMs: number) => void;
}

/** The store a projector thread can follow: a SQLite file (it opens its own connection to it). */
export function canProjectInThread(store: EventStore): store is SqliteEventStore {
  return store instanceof SqliteEventStore && store.file !== ':memory:';
}

/** The request thread's side: starts, wakes and stops the thread, and knows how far it is. */
export class ProjectorThread implements ProjectionProgress {
  private worker: Worker | undefined;
  private current: number | undefined;
  private readonly waiters = new PositionWaiters();
  private stopping = false;
  private restartDelayMs = RESTART_DELAY_MS_FIRST;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly unhook: () => void;
  private readonly job: ProjectorJob;
  private readonly wakeIntervalMs: number;
  /** When the last wake was posted (performance.now()), and the timer of a wake held back since. */
  private lastWakeAt = -Infinity;
  private wakeTimer: NodeJS.Timeout | undefined;

  constructor(
    store: SqliteEventStore,
    private readonly options: ProjectorThreadOptions,
  ) {
    assert(canProjectInThread(store), 'a projector thread follows a SQLite store in a file');
    this.job = {
      pollIntervalMs: options.pollIntervalMs ?? PROJECTOR_THREAD_POLL_MS,
      eventStoreFile: store.file,
      readStoreFile: options.readStoreFile,
      batchSize: options.batchSize ?? PROJECTOR_THREAD_BATCH_SIZE,
      busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
      cacheMiB: options.cacheMiB ?? READ_STORE_CACHE_MIB_DEFAULT,
    };
    this.wakeIntervalMs = options.wakeIntervalMs ?? PROJECTOR_WAKE_INTERVAL_MS_DEFAULT;
    assert(Number.isFinite(this.wakeIntervalMs) && this.wakeIntervalMs >= 0, 'wakeIntervalMs is not negative');
    this.unhook = store.onAppended(() => this.wake());
  }

  /** After a group commit: a wake now, or one held back to `wakeIntervalMs` after the last. */
  private wake(): void {
    if (this.wakeTimer !== undefined) return;
    const wait = this.lastWakeAt + this.wakeIntervalMs - performance.now();
    if (wait <= 0) return this.postWake();
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.postWake();
    }, wait);
  }

  private postWake(): void {
    this.lastWakeAt = performance.now();
    this.post({ wake: true });
  }

  /** Starts the thread; resolves once its read store is open (created and migrated if new). */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.spawn(resolve, reject));
  }

  position(): number | undefined {
    return this.current;
  }

  waitForPosition(position: number, timeoutMs: number): Promise<boolean> {
    if (this.current !== undefined && this.current >= position) return Promise.resolve(true);
    return this.waiters.wait(position, timeoutMs);
  }

  /** Lets the thread commit what it was handed, then ends it. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unhook();
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.post({ stop: true });
    await exited;
  }

  private post(message: ToThread): void {
    this.worker?.postMessage(message);
  }

  private spawn(onReady?: () => void, onStartFailure?: (error: Error) => void): void {
    const worker = startLibraryWorker(__filename, 'runProjectorThread', this.job);
    this.worker = worker;
    let ready = false;
    worker.on('message', (message: FromThread) => {
      if ('applied' in message) {
        this.restartDelayMs = RESTART_DELAY_MS_FIRST;
        this.advance(message.applied.position);
      } else if ('ready' in message) {
        ready = true;
        if (message.ready.position !== undefined) this.advance(message.ready.position);
        onReady?.();
      } else if ('startFailed' in message) {
        onStartFailure?.(new Error(`the projector thread did not start: ${message.startFailed}`));
      } else if ('reset' in message) {
        this.current = undefined;
        this.options.onReset?.(message.reset);
      } else {
        this.options.onFailure?.(message.failed, 0);
      }
    });
    worker.on('error', (error: unknown) => {
      const why = reasonOf(error);
      if (!ready) onStartFailure?.(new Error(`the projector thread did not start: ${why}`));
      else this.options.onFailure?.(`projector thread failed: ${why}`, this.restartDelayMs);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      if (this.stopping || !ready) return;
      const delayMs = this.restartDelayMs;
      this.restartDelayMs = Math.min(delayMs * 2, RESTART_DELAY_MS_MAX);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopping) this.spawn();
      }, delayMs);
    });
  }

  private advance(position: number): void {
    if (this.current !== undefined && position <= this.current) return;
    this.current = position;
    this.waiters.reached(position);
  }
}

/** An error as one line: its code (a driver's, such as SQLITE_CANTOPEN) and message. */
function reasonOf(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  const code = (error as { code?: unknown } | undefined)?.code;
  const text = typeof message === 'string' ? message : String(error);
  return typeof code === 'string' ? `${code}: ${text}` : text;
}

/** How long the thread waits before starting its runner again after a failure (doubling to the cap). */
const RUNNER_RETRY_MS_FIRST = 250;
const RUNNER_RETRY_MS_MAX = 10_000;

/**
 * The thread's side: its own connections, the runner, and a loop that starts the runner
 * again after a failure (the event store busy, a disk error), from the read store's checkpoint.
 */
export function runProjectorThread(): void {
  if (isMainThread || !parentPort) throw new Error('runProjectorThread runs in the projector thread');
  const port = parentPort;
  const job = libraryWorkerData<ProjectorJob>();
  const post = (message: FromThread) => port.postMessage(message);
  let events: SqliteEventStore | undefined;
  let readStore: ReadStore;
  try {
    events = SqliteEventStore.open(job.eventStoreFile, { busyTimeoutMs: job.busyTimeoutMs, pollIntervalMs: job.pollIntervalMs });
    readStore = ReadStore.open(job.readStoreFile, { busyTimeoutMs: job.busyTimeoutMs, cacheMiB: job.cacheMiB });
  } catch (error) {
    // Said here, in words: an error thrown out of a thread reaches the other side cloned, not always whole.
    post({ startFailed: reasonOf(error) });
    void events?.close().finally(() => port.close());
    if (events === undefined) port.close();
    return;
  }
  const store = events;
  const runner = new ProjectionRunner(store, readStore, {
    batchSize: job.batchSize,
    onBatch: (b) => post({ applied: { position: b.position } }),
    onReset: (why) => post({ reset: why }),
  });
  let stopping = false;
  let wakeRetry: (() => void) | undefined;
  port.on('message', (message: ToThread) => {
    if ('wake' in message) store.wakeSubscriptions();
    else {
      stopping = true;
      wakeRetry?.();
      void runner.stop();
    }
  });
  post({ ready: { position: readStore.checkpoint().position } });
  void (async () => {
    let delayMs = RUNNER_RETRY_MS_FIRST;
    try {
      while (!stopping) {
        const appliedBefore = runner.eventsApplied();
        try {
          await runner.run();
        } catch (error) {
          if (stopping) break;
          if (runner.eventsApplied() > appliedBefore) delayMs = RUNNER_RETRY_MS_FIRST;
          post({ failed: `projector stopped: ${error instanceof Error ? error.message : String(error)}; restarting in ${delayMs} ms` });
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delayMs);
            wakeRetry = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wakeRetry = undefined;
          delayMs = Math.min(delayMs * 2, RUNNER_RETRY_MS_MAX);
        }
      }
    } finally {
      readStore.close();
      await store.close();
      port.close();
    }
  })();
}
