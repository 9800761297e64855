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
