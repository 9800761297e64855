import type Database from 'better-sqlite3';
import { assert } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import { EventDispatch, READ_MODELS, ReadModelBatch, TakenBatch } from './read-models';
import type { ReadStore } from './read-store';
import { ProjectionWriter } from './read-store-port';

/** Raised when the checkpoint in the store is not the one this writer last wrote or read. */
export class CheckpointMoved extends Error {
  override readonly name = 'CheckpointMoved';
  constructor(
    readonly expected: number | undefined,
    readonly found: number | undefined,
  ) {
    super(`the read store's checkpoint is ${String(found)}, expected ${String(expected)}: another projector or a rebuild is writing it`);
  }
}

/**
 * Applies events to the read models (libs/projections/src/read-models: one module per read
 * model). One batch is one IMMEDIATE transaction that writes every read model's staged sums
 * and moves the checkpoint, so a crash leaves either the whole batch and its checkpoint or
 * neither: nothing is applied twice and nothing is skipped.
 *
 * Each read model sums its rows' changes in memory over the batch and writes each row once,
 * at the end, through prepared statements; only the transaction index takes one INSERT per
 * event. What costs is SQLite writing B-tree pages at random keys, so fewer row writes and
 * fewer, larger commits are what make it fast.
 */
export class ReadModelWriter implements ProjectionWriter {
  private readonly db: Database.Database;
  private readonly checkpointStmt: Database.Statement<[], { position: number | null }>;
  private readonly moveCheckpoint: Database.Statement<[number, string, number]>;
  private readonly dispatch: EventDispatch<ReadModelBatch>;
  private readonly commitTx: (expected: number | undefined) => void;

  constructor(readonly store: ReadStore) {
    assert(!store.readonly, 'the projector writes the read store');
    this.db = store.db;
    this.checkpointStmt = this.db.prepare('SELECT position FROM checkpoint WHERE id = 0');
    this.moveCheckpoint = this.db.prepare('UPDATE checkpoint SET position = ?, event_id = ?, events = events + ? WHERE id = 0');
    this.dispatch = new EventDispatch(READ_MODELS.map((model) => ({ model, batch: model.sqlite(this.db) })));
    this.commitTx = this.db.transaction((expected: number | undefined) => {
      this.commitInTransaction(expected);
    }).immediate;
  }

  /**
   * Applies `events` (in position order, all after `expectedCheckpoint`) and moves the
   * checkpoint to the last one, atomically. Throws CheckpointMoved, having written nothing,
   * if someone else moved the checkpoint since.
   */
  applyBatch(events: readonly RecordedEvent[], expectedCheckpoint: number | undefined): void {
    assert(events.length > 0, 'a batch holds at least one event');
    assert(this.dispatch.staged === 0, 'applyBatch is not mixed with staged events');
    try {
      for (const event of events) this.stage(event);
    } catch (error) {
      this.discardStaged();
      throw error;
    }
    this.commitStaged(expectedCheckpoint);
  }

  /** Events staged and not yet committed. */
  stagedEvents(): number {
    return this.dispatch.staged;
  }

  /**
   * Folds one event (in position order) into the pending batch, in memory: nothing is
   * written until commitStaged. The runner stages events as they arrive, so a batch holds
   * its sums, not its decoded events. On a throw the batch is unusable: discard it.
   */
  stage(event: RecordedEvent): void {
    this.dispatch.stage(event);
  }

  /**
   * Writes the staged batch and moves the checkpoint to its last event, in one IMMEDIATE
   * transaction. Throws CheckpointMoved, having written nothing, if the checkpoint is not
   * `expectedCheckpoint`. The staged batch is gone afterwards, written or not.
   */
  commitStaged(expectedCheckpoint: number | undefined): void {
    assert(this.dispatch.staged > 0, 'a batch holds at least one event');
    try {
      this.commitTx(expectedCheckpoint);
    } finally {
      // On a rollback the sums belong to nothing that was written.
      this.discardStaged();
    }
  }

  /**
   * Writes a batch staged on another thread (ReadModelFlushThread) as commitStaged writes its
   * own: the same statements, the same transaction, the same compare-and-set on the checkpoint.
   */
  commitTaken(taken: TakenBatch, expectedCheckpoint: number | undefined): void {
    this.dispatch.restore(taken);
    this.commitStaged(expectedCheckpoint);
  }

  /** Forgets the staged events. */
  discardStaged(): void {
    this.dispatch.discard();
  }

  private commitInTransaction(expected: number | undefined): void {
    // Compare-and-set on the checkpoint: two writers on one file (a projector left running
    // during a rebuild, two `ledger project`) cannot both apply the same events.
    const found = this.checkpointStmt.get()!.position ?? undefined;
    if (found !== expected) throw new CheckpointMoved(expected, found);
    assert(expected === undefined || this.dispatch.first! > expected, 'events arrive in increasing position order');
    for (const batch of this.dispatch.batches) batch.flush();
    const last = this.dispatch.last!;
    const moved = this.moveCheckpoint.run(last.position, last.eventId, this.dispatch.staged);
    assert(moved.changes === 1, 'the checkpoint row exists');
  }
}
