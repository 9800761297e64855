import { DomainEvent } from '../shared/decider';

export const memberStream = (memberId: string) => `member-${memberId}`;

/** A slice of a redemption: points taken from one lot, owed by that lot's issuer. */
export interface LotSlice {
  lotId: string;
  issuerPartnerId: string;
  points: number;
}

export type MemberEnrolled = DomainEvent<
  'MemberEnrolled',
  { memberId: string; cardNumber: string; birthDate: string | null; enrolledBy: string | null; occurredAt: string }
>;

/** One accrual is one lot: `lotId` = `txId`, issued by the partner that posted it. */
export type PointsAccrued = DomainEvent<
  'PointsAccrued',
  {
    txId: string;
    partnerId: string;
    externalId: string;
    memberId: string;
    amountMinor: number;
    currency: string;
    points: number;
    /** Point value in force when issued, so settlement needs nothing but the events. */
    pointValueMinor: number;
    lotId: string;
    issuerPartnerId: string;
    expiresAt: string;
    occurredAt: string;
  }
>;

export type PointsRedeemed = DomainEvent<
  'PointsRedeemed',
  {
    txId: string;
    /** The redeemer: the partner where the member spent the points. */
    partnerId: string;
    externalId: string;
    memberId: string;
    points: number;
    pointValueMinor: number;
    currency: string;
    slices: LotSlice[];
    occurredAt: string;
  }
>;

/** A refund: the accrued lot's points come back out (only what is still unspent). */
export type AccrualReversed = DomainEvent<
  'AccrualReversed',
  {
    txId: string;
    partnerId: string;
    externalId: string;
    memberId: string;
    originalTxId: string;
    lotId: string;
    issuerPartnerId: string;
    points: number;
    pointValueMinor: number;
    currency: string;
    occurredAt: string;
  }
>;

/** A cancelled redemption: the exact slices go back to their lots, valued as when redeemed. */
export type RedemptionReversed = DomainEvent<
  'RedemptionReversed',
  {
    txId: string;
    partnerId: string;
    externalId: string;
    memberId: string;
    originalTxId: string;
    originalOccurredAt: string;
    points: number;
    pointValueMinor: number;
    currency: string;
    slices: LotSlice[];
    occurredAt: string;
  }
>;

/** Breakage: what was left of a lot at its expiry lapses; the issuer's liability is released. */
export type PointsExpired = DomainEvent<
  'PointsExpired',
  {
    memberId: string;
    lotId: string;
    issuerPartnerId: string;
    points: number;
    pointValueMinor: number;
    currency: string;
    /** The lot's expiresAt: the business date of breakage. */
    occurredAt: string;
  }
>;

export type MemberEvent = MemberEnrolled | PointsAccrued | PointsRedeemed | AccrualReversed | RedemptionReversed | PointsExpired;

export const MEMBER_EVENT_TYPES: ReadonlySet<string> = new Set([
  'MemberEnrolled',
  'PointsAccrued',
  'PointsRedeemed',
  'AccrualReversed',
  'RedemptionReversed',
  'PointsExpired',
]);
