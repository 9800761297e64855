import { MemberEvent, MemberState, TxRecord, evolveMember, initialMember, memberStream } from '@ledger/domain';
import { EventStore } from '@ledger/event-store';
import { LoadedStream, loadStream } from '../shared/event-stream';

export const loadMember = (store: EventStore, memberId: string): Promise<LoadedStream<MemberState>> =>
  loadStream(store, memberStream(memberId), initialMember, (s, e, position) => evolveMember(s, e as MemberEvent, position));

/** Folds freshly appended events onto a loaded state; the last one sits at `lastPosition`. */
export function evolveAppended(state: MemberState, events: readonly MemberEvent[], lastPosition: number): MemberState {
  // Only the final event's position is known from the append; a transaction writes one event.
  return events.reduce((s, e, i) => evolveMember(s, e, i === events.length - 1 ? lastPosition : -1), state);
}

/** The answer to a member transaction, built from its record so a replay answers identically. */
export interface TxOutcome<Body> {
  replay: boolean;
  body: Body;
}

export const txRecordOf = (state: MemberState, txId: string): TxRecord => {
  const record = state.transactions.get(txId);
  if (!record) throw new Error(`transaction ${txId} has no record in the member's state`);
  return record;
};
