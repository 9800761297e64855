import { AssertionFailed, assert } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import { LedgerEvent, ReadModel, StagedSums, decodeLedgerEvent } from './read-model';

interface Staging {
  stage(event: LedgerEvent, position: number): void;
  discard(): void;
}

/** The event a batch ends with: where the checkpoint moves to. */
export type BatchEnd = Pick<RecordedEvent, 'position' | 'eventId'>;

/** A staged batch as it crosses threads: each read model's sums (in READ_MODELS order) and where the batch starts and ends. */
export interface TakenBatch {
  sums: StagedSums[];
  events: number;
  first: number;
  last: BatchEnd;
}

/**
 * Hands each recorded event, decoded once, to the batches of the read models that handle
 * its type (derived from their declarations), and keeps count of the events staged.
 */
export class EventDispatch<B extends Staging> {
  readonly batches: readonly B[];
  private readonly batchesOf = new Map<string, B[]>();
  /** Events staged since the last discard, and the first and last of them. */
  staged = 0;
  first: number | undefined;
  last: BatchEnd | undefined;

  constructor(models: readonly { model: ReadModel; batch: B }[]) {
    this.batches = models.map(({ model, batch }) => {
      for (const type of model.handles) {
        let list = this.batchesOf.get(type);
        if (list === undefined) this.batchesOf.set(type, (list = []));
        list.push(batch);
      }
      return batch;
    });
  }

  /** Folds one event (in position order) into the batches. On a throw the batches are unusable: discard them. */
  stage(event: RecordedEvent): void {
    assert(this.last === undefined || event.position > this.last.position, 'events arrive in increasing position order');
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
    if (this.staged === 0) this.first = event.position;
    this.last = event;
    this.staged += 1;
  }

  discard(): void {
    for (const batch of this.batches) batch.discard();
    this.forgetCounts();
  }

  /** Hands over the staged batch (at least one event) for another thread to write, and starts an empty one. */
  take(this: EventDispatch<B & { take(): StagedSums }>): TakenBatch {
    assert(this.staged > 0 && this.first !== undefined && this.last !== undefined, 'a batch holds at least one event');
    const taken = {
      sums: this.batches.map((batch) => batch.take()),
      events: this.staged,
      first: this.first,
      last: { position: this.last.position, eventId: this.last.eventId },
    };
    this.forgetCounts();
    return taken;
  }

  /** Makes a batch taken on another thread (by a dispatch over the same read models) the staged one here. */
  restore(this: EventDispatch<B & { restore(sums: StagedSums): void }>, taken: TakenBatch): void {
    assert(this.staged === 0, 'nothing else is staged');
    assert(taken.sums.length === this.batches.length && taken.events > 0, 'the batch comes from the same read models');
    this.batches.forEach((batch, i) => batch.restore(taken.sums[i]));
    this.staged = taken.events;
    this.first = taken.first;
    this.last = taken.last;
  }

  private forgetCounts(): void {
    this.staged = 0;
    this.first = undefined;
    this.last = undefined;
  }
}
