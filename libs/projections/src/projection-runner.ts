import { PositionWaiters } from './position-waiters';
import { AllSubscription, EventStore, RecordedEvent } from '@ledger/event-store';
import { assert } from '@ledger/domain';
import { Awaitable, ProjectionWriter, ReadModelStore } from './read-store-port';

/**
 * Events per transaction for a process that only projects (`ledger project`, rebuild).
 * A commit writes every B-tree page the batch dirtied, and the keys (member, lot, txId) are
 * scattered, so fewer, larger commits write each hot page fewer times. Measured on 200k
 * events: 9.4 s at 2,000 per batch, 6.6 s at 10,000, 5.3 s at 20,000; on a 1M-event demo
 * store with a 300 MiB cache: 29 s at 20,000, 25 s at 50,000. Events are folded into the
 * writer as they arrive (ReadModelWriter.stage), so a batch holds its per-row sums and one
 * transaction-index row per event, not the decoded events; on the 1M-event synthetic store
 * (bench/projection-catchup) the writer's time fell from 13.3 s at 50,000 to 10.0 s at 200,000.
 */
export const PROJECTION_BATCH_SIZE_DEFAULT = 200_000;

/**
 * Inside the API the batch is applied on the thread that serves HTTP, synchronously, so a
 * smaller batch keeps each pause short during a catch-up. Live, batches are small anyway.
 */
export const PROJECTION_BATCH_SIZE_IN_API = 5_000;

export interface BatchApplied {
  /** Checkpoint after the batch: the last position applied. */
  position: number;
  /** Events in this batch. */
  events: number;
  /** Events applied by this runner since it was created. */
  eventsApplied: number;
}

export interface ProjectionRunnerOptions {
  batchSize?: number;
  /** How batches are written (default: the read store's own writer; a catch-up passes `catchUpWriter`'s). */
  writer?: ProjectionWriter;
  /** Called after each committed batch (progress bars, logs). */
  onBatch?: (batch: BatchApplied) => void;
  /** Called when the read store was found to belong to another event store and was reset. */
  onReset?: (why: string) => void;
}

/** How far the read models are, and a way to wait until they reach a position. */
export interface ProjectionProgress {
  position(): Awaitable<number | undefined>;
  /** Resolves true once the read models reflect `position`, false after `timeoutMs`. */
  waitForPosition(position: number, timeoutMs: number): Promise<boolean>;
}

/**
 * Follows $all from the read store's checkpoint (the port's catch-up-then-live
 * subscription) and applies the events in batches; each batch and the checkpoint commit in
 * one transaction (see ReadModelWriter).
 *
 * A batch closes when it is full, or as soon as the subscription has nothing more to hand
 * over right now (a setImmediate fires only once the event loop is idle), so live events
 * are visible within a tick while a catch-up still gets full batches.
 */
export class ProjectionRunner implements ProjectionProgress {
  private readonly writer: ProjectionWriter;
  private readonly batchSize: number;
  private checkpoint: number | undefined;
  /** Events delivered and staged in the writer (folded, not kept), not yet committed. */
  private pending = 0;
  private lastPending: RecordedEvent | undefined;
  private idleFlush: NodeJS.Immediate | undefined;
  /** A batch being committed: nothing is staged until it lands (a store that answers later). */
  private committing: Promise<void> | undefined;
  private subscription: AllSubscription | undefined;
  private failure: unknown;
  private stopped = false;
  private running = false;
  private applied = 0;
  private readonly waiters = new PositionWaiters();

  constructor(
    private readonly events: EventStore,
    readonly readStore: ReadModelStore,
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    this.writer = options.writer ?? readStore.createWriter();
    this.batchSize = options.batchSize ?? PROJECTION_BATCH_SIZE_DEFAULT;
    assert(Number.isSafeInteger(this.batchSize) && this.batchSize > 0, 'batch size is a positive integer');
    // A store that answers at once gives its position now; any other, when run() starts.
    const checkpoint = readStore.checkpoint();
    if (!(checkpoint instanceof Promise)) this.checkpoint = checkpoint.position;
  }

  position(): number | undefined {
    return this.checkpoint;
  }

  eventsApplied(): number {
    return this.applied;
  }

  /** Catches up, then follows live events until stop(). Rejects on the first failure (nothing of the failed batch is kept). */
  run(): Promise<void> {
    return this.follow(undefined);
  }

  /** Catches up to `position` (e.g. the store's head when called) and stops there. */
  runUntil(position: number): Promise<void> {
    return this.follow(position);
  }

  /** Ends the subscription; events already delivered are applied before run() resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.unsubscribe();
  }

  waitForPosition(position: number, timeoutMs: number): Promise<boolean> {
    if (this.checkpoint !== undefined && this.checkpoint >= position) return Promise.resolve(true);
    return this.waiters.wait(position, timeoutMs);
  }

  private async follow(stopAt: number | undefined): Promise<void> {
    assert(!this.running, 'one loop per runner');
    this.running = true;
    this.failure = undefined;
    try {
      // The store may have moved on since construction (another runner, a rebuild).
      this.checkpoint = await this.verifiedCheckpoint();
      if (this.stopped || (stopAt !== undefined && this.checkpoint !== undefined && this.checkpoint >= stopAt)) return;
      // The read models use no metadata: the store need not decode it.
      const subscription = this.events.subscribeToAll(
        this.checkpoint === undefined ? { metadata: 'none' } : { fromPosition: this.checkpoint, metadata: 'none' },
      );
      this.subscription = subscription;
      if (this.stopped) await subscription.unsubscribe();
      try {
        for await (const event of subscription) {
          if (this.committing !== undefined && !this.writer.stagesWhileCommitting) await this.committing;
          if (this.failure !== undefined) break;
          this.writer.stage(event);
          this.pending += 1;
          this.lastPending = event;
          const reachedStop = stopAt !== undefined && event.position >= stopAt;
          if (this.pending >= this.batchSize || reachedStop) {
            await this.flush();
            if (reachedStop) break;
            // A catch-up of millions of events would otherwise hold the event loop from
            // one page read to the next; let HTTP requests and timers in between batches.
            await new Promise<void>((resolve) => setImmediate(resolve));
          } else if (this.idleFlush === undefined) {
            this.idleFlush = setImmediate(this.flushWhenIdle);
          }
          if (this.failure !== undefined) break;
        }
        await this.landed();
        // Stopped: what was delivered is applied, so stop() loses nothing it had.
        if (this.pending > 0) await this.flush();
        await this.landed();
      } finally {
        while (this.committing !== undefined) await this.committing;
        if (this.idleFlush !== undefined) clearImmediate(this.idleFlush);
        this.idleFlush = undefined;
        this.writer.discardStaged();
        this.pending = 0;
        this.lastPending = undefined;
        this.subscription = undefined;
        await subscription.unsubscribe();
        await this.writer.release?.();
      }
    } finally {
      this.running = false;
    }
  }

  private readonly flushWhenIdle = (): void => {
    this.idleFlush = undefined;
    if (this.pending === 0) return;
    // A flush thread: hand the batch over once the one in flight lands (nothing else may come to wake it).
    if (this.writer.stagesWhileCommitting) {
      void this.flush();
      return;
    }
    // Otherwise the loop stages nothing while a commit is in flight, and wakes this again after it.
    if (this.committing !== undefined) return;
    this.committing = this.inBackground(this.commitPending());
  };

  /** A commit the loop does not wait for: its failure is handed to the loop, which ends with it. */
  private inBackground(commit: Promise<void>): Promise<void> {
    const tracked: Promise<void> = commit
      .catch((error: unknown) => {
        this.failure = error;
        void this.subscription?.unsubscribe();
      })
      .finally(() => {
        if (this.committing === tracked) this.committing = undefined;
      });
    return tracked;
  }

  /** Waits for the batch in flight, if any; throws what failed. */
  private async landed(): Promise<void> {
    while (this.committing !== undefined) await this.committing;
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Commits the pending batch. A writer that takes the batch with it (a flush thread) is left
   * writing it while the loop stages the next: one batch in flight at most, so each is handed
   * over against the checkpoint the one before it left.
   */
  private async flush(): Promise<void> {
    if (!this.writer.stagesWhileCommitting) return this.commitPending();
    while (this.committing !== undefined) {
      await this.committing;
      // Another flush waiting on the same commit (the idle one) may have handed these events
      // over already; waiting for that batch too would stop the staging for a whole write.
      if (this.pending === 0) return;
    }
    if (this.failure !== undefined || this.pending === 0) return;
    this.committing = this.inBackground(this.commitPending());
  }

  private async commitPending(): Promise<void> {
    const events = this.pending;
    const last = this.lastPending!.position;
    this.pending = 0;
    this.lastPending = undefined;
    await this.writer.commitStaged(this.checkpoint);
    assert(this.checkpoint === undefined || last > this.checkpoint, 'the checkpoint only moves forward');
    this.checkpoint = last;
    this.applied += events;
    this.waiters.reached(last);
    this.options.onBatch?.({ position: last, events, eventsApplied: this.applied });
  }

  /**
   * The read store's checkpoint, after checking that the event it names is in the event
   * store: a read store left over from another (or a wiped) event store is reset, since
   * following it from a foreign position would skip or mix events.
   */
  private async verifiedCheckpoint(): Promise<number | undefined> {
    const { position, eventId } = await this.readStore.checkpoint();
    if (position === undefined) return undefined;
    const [found] = await this.events.readAll({ fromPosition: position, maxCount: 1 });
    if (found !== undefined && found.position === position && found.eventId === eventId) return position;
    const why = `read store checkpoint ${position} (event ${String(eventId)}) is not in the event store; rebuilding from position 0`;
    await this.readStore.reset();
    this.options.onReset?.(why);
    return undefined;
  }
}

// The last position in the store, or undefined when it is empty: one definition, the store's.
export { headPosition } from '@ledger/event-store';

/**
 * Waits for a read store that another process projects into: polls its checkpoint.
 * `position` reads the checkpoint now; undefined before the first batch.
 */
export function pollingProgress(position: () => number | undefined, pollIntervalMs = 20): ProjectionProgress {
  return {
    position,
    async waitForPosition(target: number, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = position();
        if (now !== undefined && now >= target) return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, left)));
      }
    },
  };
}
