import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Unavailable } from '@ledger/domain';
import { EventStore } from '@ledger/event-store';
import {
  PROJECTION_BATCH_SIZE_IN_API,
  PostgresReadStore,
  ProjectionProgress,
  ProjectionRunner,
  ProjectorThread,
  ReadModelQueries,
  ReadModelStore,
  ReadStore,
  ReadStoreMissing,
  canProjectInThread,
  pollingProgress,
} from '@ledger/projections';

/** How long a read with `?minPosition=` waits for the projection before answering 503. */
export const MIN_POSITION_WAIT_MS = 5_000;

export interface ReadModelOptions {
  /**
   * 'in-process' (default): this process runs the projector, on the request thread, or in a
   * thread of its own (`ProjectorThread`) when the event store and the read store are SQLite
   * files, as `ledger serve` opens them. 'external': another process (`ledger project`)
   * writes the read store; this one opens it read-only.
   */
  projector?: 'in-process' | 'external';
  /** The read store file; ':memory:' (the default) only with the in-process projector. */
  file?: string;
  /**
   * A PostgreSQL read store, opened (and migrated) at start, used instead of the file and
   * shared with other replicas; this access closes it on shutdown.
   */
  postgres?: PostgresReadStore;
  waitTimeoutMs?: number;
  batchSize?: number;
}

const RETRY_DELAY_MS_FIRST = 200;
const RETRY_DELAY_MS_MAX = 30_000;

/**
 * The API's way to the read models: a reader, and waiting for a position. With the
 * projector in process it also runs it, restarting it after a failure (a projector stopped
 * by a bug must not take the write path down with it: GETs go stale, and `minPosition`
 * answers 503, until it recovers).
 */
export class ReadModelAccess implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Projector');
  private readonly waitTimeoutMs: number;
  private readStore: ReadModelStore | undefined;
  private currentReader: ReadModelQueries | undefined;
  private progress: ProjectionProgress | undefined;
  private runner: ProjectionRunner | undefined;
  private thread: ProjectorThread | undefined;
  private threadStarted = false;
  private supervising: Promise<void> | undefined;
  private stopping = false;
  private wakeSupervisor: (() => void) | undefined;

  constructor(
    private readonly events: EventStore,
    private readonly options: ReadModelOptions = {},
  ) {
    this.waitTimeoutMs = options.waitTimeoutMs ?? MIN_POSITION_WAIT_MS;
    const postgres = options.postgres;
    if (postgres !== undefined) {
      this.readStore = postgres;
      this.currentReader = postgres.createReader();
      // Whoever projects (this process or another), the shared checkpoint says how far it is.
      this.progress = {
        position: async () => (await postgres.checkpoint()).position,
        waitForPosition: (position, timeoutMs) => postgres.waitForPosition(position, timeoutMs),
      };
    }
    const file = options.file;
    if (this.inProcess && postgres === undefined && file !== undefined && file !== ':memory:' && canProjectInThread(events)) {
      // The read store is opened read-only here once the thread has created it (onApplicationBootstrap).
      this.thread = new ProjectorThread(events, {
        readStoreFile: file,
        onReset: (why) => this.logger.warn(why),
        onFailure: (why) => this.logger.error(why),
      });
      this.progress = this.thread;
    } else if (this.inProcess) {
      this.readStore ??= ReadStore.open(options.file ?? ':memory:');
      this.currentReader ??= this.readStore.createReader();
      this.runner = new ProjectionRunner(events, this.readStore, {
        batchSize: options.batchSize ?? PROJECTION_BATCH_SIZE_IN_API,
        onReset: (why) => this.logger.warn(why),
      });
      this.progress ??= this.runner;
    }
  }

  get inProcess(): boolean {
    return (this.options.projector ?? 'in-process') === 'in-process';
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.runner) this.supervising = this.supervise(this.runner);
    if (this.thread) {
      await this.thread.start();
      this.threadStarted = true;
      this.readStore = ReadStore.open(this.options.file!, { readonly: true });
      this.currentReader = this.readStore.createReader();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wakeSupervisor?.();
    await this.runner?.stop();
    await this.thread?.stop();
    await this.supervising;
    await this.readStore?.close();
  }

  /** The read store this API reads (undefined while an external projector has not created the SQLite file). */
  store(): ReadModelStore | undefined {
    return this.readStore;
  }

  /** The reader, once the read store exists; 503 while it does not (external projector not started yet). */
  reader(): ReadModelQueries {
    if (this.currentReader) return this.currentReader;
    if (this.thread && !this.threadStarted) throw new Unavailable('read_model_unavailable', 'the projector thread is starting; retry');
    const file = this.options.file;
    if (!file) throw new Error('an external projector needs the read store file');
    try {
      ReadStore.open(file, { readonly: true }).close();
    } catch (error) {
      if (!(error instanceof ReadStoreMissing)) throw error;
      throw new Unavailable(
        'read_model_unavailable',
        `the read models are not there yet (${error.message}); is \`ledger project\` running?`,
      );
    }
    const store = ReadStore.open(file, { readonly: true });
    this.readStore = store;
    this.currentReader = store.createReader();
    this.progress = pollingProgress(() => store.checkpoint().position);
    return this.currentReader;
  }

  /** The last log position applied to the read models (undefined: none yet); 503 while the read store is not there. */
  async position(): Promise<number | undefined> {
    this.reader();
    return this.progress!.position();
  }

  /** Resolves once the read models reflect `minPosition`; 503 if they do not within the wait. */
  async atLeast(minPosition: number | undefined): Promise<ReadModelQueries> {
    const reader = this.reader();
    if (minPosition === undefined) return reader;
    const reached = await this.progress!.waitForPosition(minPosition, this.waitTimeoutMs);
    if (!reached) {
      const at = await this.progress!.position();
      throw new Unavailable(
        'projection_behind',
        `the read models are at position ${at ?? 'none'} and did not reach minPosition ${minPosition} within ${this.waitTimeoutMs / 1000} s; retry`,
      );
    }
    return reader;
  }

  private async supervise(runner: ProjectionRunner): Promise<void> {
    let delayMs = RETRY_DELAY_MS_FIRST;
    while (!this.stopping) {
      try {
        await runner.run();
        delayMs = RETRY_DELAY_MS_FIRST;
      } catch (error) {
        if (this.stopping) return;
        this.logger.error(`projector stopped: ${error instanceof Error ? error.message : String(error)}; restarting in ${delayMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wakeSupervisor = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        delayMs = Math.min(delayMs * 2, RETRY_DELAY_MS_MAX);
      }
    }
  }
}
