import { NotFound } from '@ledger/domain';
import { EventStore } from '@ledger/event-store';
import {
  SettlementEvent,
  SettlementState,
  SettlementStatement,
  evolveSettlement,
  initialSettlement,
  settlementStream,
} from '@ledger/settlement';
import { LoadedStream, loadStream } from '../shared/event-stream';

export const loadSettlement = (store: EventStore, periodId: string): Promise<LoadedStream<SettlementState>> =>
  loadStream(store, settlementStream(periodId), initialSettlement, (s, e) => evolveSettlement(s, e as SettlementEvent));

/** The statement filed when the period was closed; 404 while it is open. */
export async function requireStatement(store: EventStore, periodId: string): Promise<SettlementStatement> {
  const { state } = await loadSettlement(store, periodId);
  if (state.status !== 'closed' || !state.statement) throw new NotFound('settlement', periodId);
  return state.statement;
}
