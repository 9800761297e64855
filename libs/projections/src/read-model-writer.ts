import type Database from 'better-sqlite3';
import { AssertionFailed, assert } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import { READ_MODELS, ReadModelBatch, decodeLedgerEvent } from './read-models';
import { ReadStore } from './read-store';

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
export class ReadModelWriter {
  private readonly db: Database.Database;
  private readonly checkpointStmt: Database.Statement<[], { position: number | null }>;
  private readonly moveCheckpoint: Database.Statement<[number, string, number]>;
  /** Every read model's batch, in the order they are written. */
  private readonly batches: readonly ReadModelBatch[];
  /** The batches that handle each event type: derived from the read models' declarations. */
  private readonly batchesOf = new Map<string, ReadModelBatch[]>();
  /** Events staged since the last commit or discard, and the first and last of them. */
  private staged = 0;
  private firstStaged: number | undefined;
  private lastStaged: RecordedEvent | undefined;
  private readonly commitTx: (expected: number | undefined) => void;

  constructor(readonly store: ReadStore) {
    assert(!store.readonly, 'the projector writes the read store');
    this.db = store.db;
    this.checkpointStmt = this.db.prepare('SELECT position FROM checkpoint WHERE id = 0');
    this.moveCheckpoint = this.db.prepare('UPDATE checkpoint SET position = ?, event_id = ?, events = events + ? WHERE id = 0');
    this.batches = READ_MODELS.map((model) => {
      const batch = model.sqlite(this.db);
      for (const type of model.handles) {
        let list = this.batchesOf.get(type);
        if (list === undefined) this.batchesOf.set(type, (list = []));
        list.push(batch);
      }
      return batch;
    });
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
    assert(this.staged === 0, 'applyBatch is not mixed with staged events');
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
    return this.staged;
  }

  /**
   * Folds one event (in position order) into the pending batch, in memory: nothing is
   * written until commitStaged. The runner stages events as they arrive, so a batch holds
   * its sums, not its decoded events. On a throw the batch is unusable: discard it.
   */
  stage(event: RecordedEvent): void {
    const previous = this.lastStaged?.position;
    assert(previous === undefined || event.position > previous, 'events arrive in increasing position order');
    const batches = this.batchesOf.get(event.type);
    if (batches !== undefined) {
      const typed = decodeLedgerEvent(event);
      for (const batch of batches) batch.stage(typed, event.position);
    } else if (this.batchesOf.has(event.type.split('.')[0])) {
      // A new version of an event projected here (`PointsAccrued.v2`) must be upcast
      // first: skipping it would quietly leave every balance wrong.
      throw new AssertionFailed(`${event.type}: no upcaster to the projected shape`);
    }
    // Anything else (keys, cards, settlement): in no read model. The checkpoint still moves past it.
    if (this.staged === 0) this.firstStaged = event.position;
    this.lastStaged = event;
    this.staged += 1;
  }

  /**
   * Writes the staged batch and moves the checkpoint to its last event, in one IMMEDIATE
   * transaction. Throws CheckpointMoved, having written nothing, if the checkpoint is not
   * `expectedCheckpoint`. The staged batch is gone afterwards, written or not.
   */
  commitStaged(expectedCheckpoint: number | undefined): void {
    assert(this.staged > 0, 'a batch holds at least one event');
    try {
      this.commitTx(expectedCheckpoint);
    } finally {
      // On a rollback the sums belong to nothing that was written.
      this.discardStaged();
    }
  }

  /** Forgets the staged events. */
  discardStaged(): void {
    for (const batch of this.batches) batch.discard();
    this.staged = 0;
    this.firstStaged = undefined;
    this.lastStaged = undefined;
  }

  private commitInTransaction(expected: number | undefined): void {
    // Compare-and-set on the checkpoint: two writers on one file (a projector left running
    // during a rebuild, two `ledger project`) cannot both apply the same events.
    const found = this.checkpointStmt.get()!.position ?? undefined;
    if (found !== expected) throw new CheckpointMoved(expected, found);
    assert(expected === undefined || this.firstStaged! > expected, 'events arrive in increasing position order');
    for (const batch of this.batches) batch.flush();
    const last = this.lastStaged!;
    const moved = this.moveCheckpoint.run(last.position, last.eventId, this.staged);
    assert(moved.changes === 1, 'the checkpoint row exists');
  }
}
