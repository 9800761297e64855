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
import { EventStore, WrongExpectedVersion } from '@ledger/event-store';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, loadStream } from '../shared/event-stream';

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
  const loaded = await loadStream<TransactionReservation>(store, stream, initialReservation, (s, e) =>
    evolveReservation(s, e as TransactionReserved),
  );
  // Reserved for this member (a retry, or a member append a crash cut off): go on. For
  // another member, decideReservation refuses with 409. A stream that exists is never empty.
  const more = decideReservation({ txId, memberId }, loaded.state);
  assert(more.length === 0, 'a reservation stream that exists holds its reservation');
}
