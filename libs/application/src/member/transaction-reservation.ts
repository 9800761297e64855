import {
  TransactionReservation,
  assert,
  TransactionReserved,
  decideReservation,
  evolveReservation,
  initialReservation,
  transactionStream,
} from '@ledger/domain';
import { GENESIS_HASH } from '@ledger/integrity';
import { AppendResult, EventStore, StreamAppend, WrongExpectedVersion } from '@ledger/event-store';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, decidedAppend, loadStream } from '../shared/event-stream';

/**
 * Claims `txId` for `memberId` before the member's own append (DESIGN §2: a txId is unique
 * coalition-wide). The store decides: the reservation is appended with no_stream, so of two
 * requests for different members, in any process or replica, on any adapter, one wins and
 * the other gets 409 `idempotency_conflict`. No multi-stream transaction is needed: if the
 * process dies between this append and the member's, a retry for the same member finds the
 * reservation pointing at it and goes on to the member append.
 *
 * Most txIds are new, so the append is tried first and the stream read only when it exists.
 */
export async function reserveTransaction(
  store: EventStore,
  txId: string,
  memberId: string,
  meta: CommandMeta,
  occurredAt: string,
): Promise<void> {
  const stream = transactionStream(txId);
  const fresh = { state: initialReservation(), revision: -1, lastHash: GENESIS_HASH };
  const claim = decideReservation({ txId, memberId }, fresh.state);
  try {
    await appendDecided(store, stream, fresh, claim, meta, occurredAt);
    return;
  } catch (err) {
    if (!(err instanceof WrongExpectedVersion)) throw err;
  }
  await confirmReservation(store, txId, memberId);
}

/**
 * The reservation and the member's append in one transaction, on a store that has
 * multi-stream atomic appends (SQLite, memory): one group commit instead of two, and no crash
 * window between them. The reservation comes first, as on the two-step path. Resolves with
 * the member append's result; or 'already-reserved' when the txId was reserved for this
 * member before (a duplicate that won the race, or a reservation written by the two-step path
 * whose member append a crash cut off), and then nothing was written and only the member
 * append remains. 409 when another member holds it; WrongExpectedVersion of the member stream
 * as from any append.
 */
export async function reserveWithMemberAppend(
  store: EventStore & Required<Pick<EventStore, 'appendToStreams'>>,
  txId: string,
  memberId: string,
  meta: CommandMeta,
  occurredAt: string,
  memberAppend: StreamAppend,
): Promise<AppendResult | 'already-reserved'> {
  const stream = transactionStream(txId);
  try {
    const [, member] = await store.appendToStreams([claimAppend(txId, memberId, meta, occurredAt), memberAppend]);
    return member;
  } catch (err) {
    if (!(err instanceof WrongExpectedVersion && err.streamId === stream)) throw err;
  }
  await confirmReservation(store, txId, memberId);
  return 'already-reserved';
}

/** The reservation of `txId` for `memberId`, as one part of an atomic multi-stream append. */
export function claimAppend(txId: string, memberId: string, meta: CommandMeta, occurredAt: string): StreamAppend {
  const fresh = { state: initialReservation(), revision: -1, lastHash: GENESIS_HASH };
  return decidedAppend(transactionStream(txId), fresh, decideReservation({ txId, memberId }, fresh.state), meta, occurredAt).append;
}

/** The txId's reservation exists: go on if it is this member's, 409 if another member's. */
export async function confirmReservation(store: EventStore, txId: string, memberId: string): Promise<void> {
  const loaded = await loadStream<TransactionReservation>(store, transactionStream(txId), initialReservation, (s, e) =>
    evolveReservation(s, e as TransactionReserved),
  );
  // Reserved for this member (a retry, or a member append a crash cut off): go on. For
  // another member, decideReservation refuses with 409. A stream that exists is never empty.
  const more = decideReservation({ txId, memberId }, loaded.state);
  assert(more.length === 0, 'a reservation stream that exists holds its reservation');
}
