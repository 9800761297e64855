import { DomainError, NotFound } from '@ledger/domain';
import { EventStore, RecordedEvent } from '@ledger/event-store';
import { checkPeriodId, loadSettlement } from '@ledger/settlement';
import { InclusionProofDocument, MoneyEventIndex, PeriodCloses, buildProofDocument, periodMerkle } from './period-merkle';

/** 404: no such event, or it is not one the period's statement settles. */
export class EventNotInPeriod extends DomainError {
  readonly kind = 'not_found';
  constructor(eventId: string, periodId: string, why: string) {
    super('event_not_in_period', `event ${eventId} ${why} in period ${periodId}`);
  }
}

/**
 * An inclusion proof that `eventId` is among the events the closed period `periodId`
 * settles: one read of the log up to the period's cut-off.
 */
export async function provePeriodEvent(
  store: EventStore,
  periodId: string,
  eventId: string,
  onPage?: (position: number, cutoffPosition: number) => void,
): Promise<InclusionProofDocument> {
  checkPeriodId(periodId, 'period');
  const { state } = await loadSettlement(store, periodId);
  if (state.status !== 'closed') throw new NotFound('settlement', periodId);
  const closes = new PeriodCloses();
  const money = new MoneyEventIndex();
  let event: RecordedEvent | undefined;
  await store.scanAll({ upTo: state.cutoffPosition, onProgress: (position) => onPage?.(position, state.cutoffPosition) }, (e) => {
    closes.add(e);
    money.add(e);
    if (e.eventId === eventId) event = e;
  });
  // The close itself is after the cut-off: add it from the settlement stream.
  for (const e of await store.readStream(`settlement-${periodId}`)) closes.add(e);
  if (event === undefined) throw new EventNotInPeriod(eventId, periodId, 'is not in the log up to the cut-off');
  const merkle = periodMerkle(money, closes, periodId);
  if (merkle === undefined) throw new NotFound('settlement', periodId);
  const doc = buildProofDocument(periodId, state.statement, merkle.root, merkle.leaves, event);
  if (doc === undefined) throw new EventNotInPeriod(eventId, periodId, 'is not a money event settled');
  return doc;
}
