import { MemberEvent, MemberState, TxRecord, evolveMember, initialMember, memberStream } from '@ledger/domain';
import { AppendResult, EventToAppend, EventStore } from '@ledger/event-store';
import { LoadedStream, loadStream } from '../shared/event-stream';

export const loadMember = (store: EventStore, memberId: string): Promise<LoadedStream<MemberState>> =>
  loadStream(store, memberStream(memberId), initialMember, (s, e, position) => evolveMember(s, e as MemberEvent, position));

/** Folds freshly appended events onto a loaded state; the last one sits at `lastPosition`. */
export function evolveAppended(state: MemberState, events: readonly MemberEvent[], lastPosition: number): MemberState {
  // Only the final event's position is known from the append (see ownEventPosition).
  return events.reduce((s, e, i) => evolveMember(s, e, i === events.length - 1 ? lastPosition : -1), state);
}

/**
 * Where a transaction's last event landed in an append that has just been acknowledged: the
 * position its record answers with, as a fold of the stream gives it (`TxRecord.position`).
 * The store's answer names the position of the append's last event only, and positions are
 * not consecutive on every store (EventStoreDB's are byte offsets), so an event followed by
 * another transaction's is read back by its revision rather than computed.
 */
export async function ownEventPosition(
  store: EventStore,
  stream: string,
  appendedEvents: readonly EventToAppend[],
  txId: string,
  appended: AppendResult,
): Promise<number> {
  const own = appendedEvents.map((e) => (e.data as { txId?: string }).txId).lastIndexOf(txId);
  const after = appendedEvents.length - 1 - own;
  if (own === -1 || after === 0) return appended.position;
  const [event] = await store.readStream(stream, { fromRevision: appended.nextExpectedRevision - after, maxCount: 1 });
  if (event?.eventId !== appendedEvents[own].eventId) {
    throw new Error(`${stream}: the last event of transaction ${txId} is not at the revision its append was acknowledged at`);
  }
  return event.position;
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
