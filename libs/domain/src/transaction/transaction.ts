import { DomainEvent } from '../shared/decider';
import { Conflict } from '../shared/errors';

/**
 * `transaction-{txId}`: which member a partner's transaction id belongs to. DESIGN §2 makes
 * `txId = partnerId:externalId` unique coalition-wide, but a member stream only knows its own
 * transactions; this stream is the one place every member's write for a txId meets, so the
 * store's no_stream check decides it, in every adapter and across replicas.
 */
export const TRANSACTION_STREAM_PREFIX = 'transaction-';
export const transactionStream = (txId: string): string => `${TRANSACTION_STREAM_PREFIX}${txId}`;

export type TransactionReserved = DomainEvent<'TransactionReserved', { txId: string; memberId: string }>;

/** The member a txId was first reserved for; undefined while it is free. */
export interface TransactionReservation {
  memberId: string | undefined;
}

export const initialReservation = (): TransactionReservation => ({ memberId: undefined });

/** The first reservation holds; a stream only ever has one (it is appended with no_stream). */
export const evolveReservation = (s: TransactionReservation, e: TransactionReserved): TransactionReservation =>
  s.memberId === undefined ? { memberId: e.data.memberId } : s;

/**
 * Reserve `txId` for `memberId`. Already reserved for the same member: nothing to write (a
 * retry, or the member append that a crash cut off). For another member: 409, so a till that
 * retries with a mistyped member never earns twice.
 */
export function decideReservation(cmd: { txId: string; memberId: string }, s: TransactionReservation): TransactionReserved[] {
  if (s.memberId === undefined) return [{ type: 'TransactionReserved', data: { txId: cmd.txId, memberId: cmd.memberId } }];
  if (s.memberId === cmd.memberId) return [];
  throw new Conflict('idempotency_conflict', `transaction ${cmd.txId} was already posted for another member`);
}
