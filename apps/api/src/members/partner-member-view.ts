import { Inject } from '@nestjs/common';
import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import {
  AccrualReversed,
  HoldCaptured,
  HoldReleased,
  PointsAccrued,
  PointsHeld,
  PointsRedeemed,
  RedemptionReversed,
  assert,
  memberStream,
} from '@ledger/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@ledger/event-store';
import type { TransactionKind } from '@ledger/projections';

/**
 * What a partner's till sees of a member (issue 15 §6). Another partner's lots are that
 * partner's sales data: they appear only inside totals, and nothing here names another
 * partner, its lots or its receipts. Staff keys see the full record instead.
 */
export interface PartnerMemberBody {
  memberId: string;
  available: number;
  held: number;
  /** All open points, whoever issued them, that lapse within EXPIRING_SOON_DAYS of the moment answered. */
  expiringSoon: { points: number; until: string };
  /** Open lots this partner issued, in creation order. */
  ownLots: { lotId: string; points: number; expiresAt: string }[];
  /** Open points issued by every other partner together. */
  otherIssuersPoints: number;
  /**
   * Points still in their return window (not in `available`): this partner's lots with the
   * day each becomes spendable; every other partner's only as one total.
   */
  pending: { points: number; ownLots: { lotId: string; points: number; availableAt: string }[]; otherIssuersPoints: number };
  /** This partner's transactions with the member, the most recent PARTNER_TRANSACTIONS_MAX, oldest first. */
  transactions: PartnerTransaction[];
  /** How many transactions this partner has with the member in all. */
  transactionCount: number;
}

/** A posted transaction's kind, and a checkout hold's steps (its capture is also listed as the redemption it made). */
export type PartnerTransactionKind = TransactionKind | 'hold' | 'hold_capture' | 'hold_release' | 'hold_lapse';

export interface PartnerTransaction {
  txId: string;
  kind: PartnerTransactionKind;
  points: number;
  originalTxId: string | null;
  occurredAt: string;
  position: number;
}

export const EXPIRING_SOON_DAYS = 30;
export const PARTNER_TRANSACTIONS_MAX = 100;
const DAY_MS = 86_400_000;

/** The full member record a staff key sees; the partner view is cut from it. */
export interface MemberRecord {
  memberId: string;
  available: number;
  held: number;
  /** Open lots not pending at the moment answered. */
  lots: readonly { lotId: string; issuerPartnerId: string; points: number; expiresAt: string }[];
  pending: { points: number; lots: readonly { lotId: string; issuerPartnerId: string; points: number; availableAt: string }[] };
}

export function partnerMemberView(
  member: MemberRecord,
  partnerId: string,
  transactions: readonly PartnerTransaction[],
  at: Date,
): PartnerMemberBody {
  const now = at.getTime();
  const until = now + EXPIRING_SOON_DAYS * DAY_MS;
  let expiringSoon = 0;
  let otherIssuersPoints = 0;
  const ownLots: PartnerMemberBody['ownLots'] = [];
  for (const lot of member.lots) {
    const expires = Date.parse(lot.expiresAt);
    if (expires > now && expires <= until) expiringSoon += lot.points;
    if (lot.issuerPartnerId === partnerId) ownLots.push({ lotId: lot.lotId, points: lot.points, expiresAt: lot.expiresAt });
    else otherIssuersPoints += lot.points;
  }
  const pending: PartnerMemberBody['pending'] = { points: member.pending.points, ownLots: [], otherIssuersPoints: 0 };
  for (const lot of member.pending.lots) {
    if (lot.issuerPartnerId === partnerId) pending.ownLots.push({ lotId: lot.lotId, points: lot.points, availableAt: lot.availableAt });
    else pending.otherIssuersPoints += lot.points;
  }
  // A transaction listed here is this partner's: its txId is scoped to the partner.
  assert(
    transactions.every((t) => t.txId.startsWith(`${partnerId}:`)),
    'only the partner’s own transactions reach its view',
  );
  return {
    memberId: member.memberId,
    available: member.available,
    held: member.held,
    expiringSoon: { points: expiringSoon, until: new Date(until).toISOString() },
    ownLots,
    otherIssuersPoints,
    pending,
    transactions: transactions.slice(-PARTNER_TRANSACTIONS_MAX),
    transactionCount: transactions.length,
  };
}

/**
 * One partner's transactions with a member, from the member stream up to a position (the
 * read model's or an as-of moment's), so the list matches the balance it is shown with.
 */
export class PartnerTransactionsQuery extends Query<PartnerTransaction[]> {
  constructor(
    readonly memberId: string,
    readonly partnerId: string,
    readonly upToPosition: number,
  ) {
    super();
  }
}

@QueryHandler(PartnerTransactionsQuery)
export class PartnerTransactionsHandler implements IQueryHandler<PartnerTransactionsQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ memberId, partnerId, upToPosition }: PartnerTransactionsQuery): Promise<PartnerTransaction[]> {
    return partnerTransactionsOf(await this.store.readStream(memberStream(memberId)), partnerId, upToPosition);
  }
}

export function partnerTransactionsOf(events: readonly RecordedEvent[], partnerId: string, upToPosition: number): PartnerTransaction[] {
  const rows: PartnerTransaction[] = [];
  for (const e of events) {
    // A stream's positions grow with its revisions: the rest is after the moment.
    if (e.position > upToPosition) break;
    const row = transactionOf(e);
    if (row && row.partnerId === partnerId) {
      const { partnerId: _own, ...transaction } = row;
      rows.push(transaction);
    }
  }
  return rows;
}

type TransactionEvent = PointsAccrued | PointsRedeemed | AccrualReversed | RedemptionReversed | PointsHeld | HoldCaptured | HoldReleased;
type TransactionShape = Pick<PartnerTransaction, 'txId' | 'kind' | 'originalTxId'>;

/** What tells the member-stream transactions apart; every one of them also carries partnerId, points and occurredAt. */
const TRANSACTION_SHAPES: { [T in TransactionEvent['type']]: (d: Extract<TransactionEvent, { type: T }>['data']) => TransactionShape } = {
  PointsAccrued: (d) => ({ txId: d.txId, kind: 'accrual', originalTxId: null }),
  PointsRedeemed: (d) => ({ txId: d.txId, kind: 'redemption', originalTxId: null }),
  AccrualReversed: (d) => ({ txId: d.txId, kind: 'accrual_reversal', originalTxId: d.originalTxId }),
  RedemptionReversed: (d) => ({ txId: d.txId, kind: 'redemption_reversal', originalTxId: d.originalTxId }),
  PointsHeld: (d) => ({ txId: d.txId, kind: 'hold', originalTxId: null }),
  HoldCaptured: (d) => ({ txId: d.txId, kind: 'hold_capture', originalTxId: d.holdId }),
  // A lapsed hold has no request of its own: it is named by the hold.
  HoldReleased: (d) => ({ txId: d.txId ?? d.holdId, kind: d.reason === 'expired' ? 'hold_lapse' : 'hold_release', originalTxId: d.holdId }),
};

function transactionOf(e: RecordedEvent): (PartnerTransaction & { partnerId: string }) | undefined {
  if (!Object.hasOwn(TRANSACTION_SHAPES, e.type)) return undefined;
  const shapeOf = TRANSACTION_SHAPES[e.type as TransactionEvent['type']] as (d: unknown) => TransactionShape;
  const { txId, kind, originalTxId } = shapeOf(e.data);
  const d = e.data as unknown as Pick<PointsAccrued['data'], 'partnerId' | 'points' | 'occurredAt'>;
  // Keys in the order the answer has always had.
  return { position: e.position, partnerId: d.partnerId, txId, kind, points: d.points, originalTxId, occurredAt: d.occurredAt };
}
