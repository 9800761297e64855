import { NotFound } from '@ledger/domain';
import { EventStore } from '@ledger/event-store';
import { SettlementStatement, loadSettlement } from '@ledger/settlement';

export { loadSettlement };

/** The statement filed when the period was closed; 404 while it is open. */
export async function requireStatement(store: EventStore, periodId: string): Promise<SettlementStatement> {
  const { state } = await loadSettlement(store, periodId);
  if (state.status !== 'closed' || !state.statement) throw new NotFound('settlement', periodId);
  return state.statement;
}
