import { EventStore } from '@ledger/event-store';
import { chainTip } from '@ledger/integrity';
import { SettlementEvent, SettlementState, evolveSettlement, initialSettlement, settlementStream } from './settlement.decide';

/** A period's settlement stream folded, with what the next append must chain onto. */
export interface LoadedSettlement {
  state: SettlementState;
  /** Revision of the last event, -1 when the period was never closed. */
  revision: number;
  lastHash: string;
}

export async function loadSettlement(store: EventStore, periodId: string): Promise<LoadedSettlement> {
  const events = await store.readStream(settlementStream(periodId));
  let state = initialSettlement();
  for (const e of events) state = evolveSettlement(state, { type: e.type, data: e.data } as SettlementEvent);
  const last = events.at(-1);
  return { state, revision: last?.revision ?? -1, lastHash: chainTip(last) };
}

/**
 * The order in which periods are closed, across every process and replica: one stream, one
 * `PeriodCloseSequenced {sequence, periodId, cutoffPosition}` per close, appended at the
 * revision the close read before it fixed its cut-off. Two closes that calculated at once
 * cannot both append, so each filed statement knows every close before it (docs/domain.md,
 * "Settlement membership": closes are serialised).
 */
export const CLOSE_SEQUENCE_STREAM = 'close-sequence';

export interface PeriodCloseSequenced {
  type: 'PeriodCloseSequenced';
  data: { sequence: number; periodId: string; cutoffPosition: number };
}

export interface LoadedCloseSequence {
  /** Revision of the last entry, -1 when no period was closed through the sequence yet. */
  revision: number;
  lastHash: string;
  last: PeriodCloseSequenced['data'] | undefined;
}

export async function loadCloseSequence(store: EventStore): Promise<LoadedCloseSequence> {
  const [last] = await store.readStream(CLOSE_SEQUENCE_STREAM, { direction: 'backwards', maxCount: 1 });
  return { revision: last?.revision ?? -1, lastHash: chainTip(last), last: last?.data as PeriodCloseSequenced['data'] | undefined };
}
