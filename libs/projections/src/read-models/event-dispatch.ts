import { AssertionFailed, assert } from '@ledger/domain';
import { RecordedEvent } from '@ledger/event-store';
import { LedgerEvent, ReadModel, decodeLedgerEvent } from './read-model';

interface Staging {
  stage(event: LedgerEvent, position: number): void;
  discard(): void;
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
  last: RecordedEvent | undefined;

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
    this.staged = 0;
    this.first = undefined;
    this.last = undefined;
  }
}
