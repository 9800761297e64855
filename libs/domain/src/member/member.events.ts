import { DomainEvent } from '../shared/decider';
import type { AccrualItem, AppliedMultiplier } from '../partner/earn';

export const memberStream = (memberId: string) => `member-${memberId}`;

/** A slice of a redemption: points taken from one lot, owed by that lot's issuer. */
export interface LotSlice {
  lotId: string;
  issuerPartnerId: string;
  points: number;
}

export type MemberEnrolled = DomainEvent<
  'MemberEnrolled',
  {
    memberId: string;
    cardNumber: string;
    birthDate: string | null;
    enrolledBy: string | null;
    occurredAt: string;
    /** The member who referred this one (absent on every earlier event and when nobody did). */
    referredBy?: string;
  }
>;

export type BonusKind = 'welcome' | 'birthday' | 'referral' | 'action' | 'surprise';

/**
 * Points given, not earned by a purchase: a lot like an accrual's, spendable at once, expiring
 * as any lot, valued at the point value in force. Its issuer is its sponsor (a partnerId, or
 * `operator`), who pays for it in settlement as for any points it issues. `partnerId` is who
 * asked: the posting partner, or `operator` for an admin, a job or the programme itself.
 */
export type BonusAwarded = DomainEvent<
  'BonusAwarded',
  {
    txId: string;
    kind: BonusKind;
    partnerId: string;
    /** The request's receipt id (surprise, action); null for bonuses the ledger gives on its own. */
    externalId: string | null;
    memberId: string;
    points: number;
    pointValueMinor: number;
    currency: string;
    lotId: string;
    issuerPartnerId: string;
    expiresAt: string;
    /** Why: the surprise's reason, the action's name, the referred or referring member, the birthday's year. */
    reason: string;
    occurredAt: string;
  }
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
    /**
     * Set when the partner's earn rule has a return window (`pendingDays`): the lot is pending,
     * not spendable, until then. Absent (every earlier event): spendable at once.
     */
    availableAt?: string;
    /** The receipt's lines when the partner sent them (part of the transaction's identity). */
    items?: AccrualItem[];
    /**
     * Set when a multiplier applied (earn rules, tier, plan): the points before any, and each
     * multiplier with its source. Absent (every earlier event, and accruals under no
     * multiplier): `points` are the base points and nothing multiplied them.
     */
    basePoints?: number;
    multipliers?: AppliedMultiplier[];
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
    /** Set when a partial reversal gave points back to a lot already expired: that reversal's txId. */
    txId?: string;
  }
>;

/**
 * A pending lot's return window has ended: its points are spendable. Written by a job after
 * the fact (reads and decisions already treat a lot past its `availableAt` as spendable), once
 * per lot, dated at `availableAt`. `points`: the lot as issued less what reversals took back.
 * It moves no value: settlement counts issuance at the accrual.
 */
export type PointsReleased = DomainEvent<
  'PointsReleased',
  {
    memberId: string;
    lotId: string;
    issuerPartnerId: string;
    points: number;
    /** The lot's availableAt. */
    occurredAt: string;
  }
>;

/**
 * A checkout's reservation: the member's available points drop at once. No lot is chosen
 * here; the capture takes lots first-in-first-out as a redemption does, so expiry order holds.
 * `txId` = `holdId` = `partnerId:externalId`. `expiresAt` is the clock's time plus the TTL.
 */
export type PointsHeld = DomainEvent<
  'PointsHeld',
  {
    txId: string;
    holdId: string;
    partnerId: string;
    externalId: string;
    memberId: string;
    points: number;
    ttlSeconds: number;
    expiresAt: string;
    occurredAt: string;
  }
>;

/**
 * A hold ends by capture. Appended right after the `PointsRedeemed` (same `txId`) that took
 * the captured points from the lots at the holding partner; `releasedPoints` is the rest.
 */
export type HoldCaptured = DomainEvent<
  'HoldCaptured',
  {
    txId: string;
    holdId: string;
    partnerId: string;
    externalId: string;
    memberId: string;
    points: number;
    releasedPoints: number;
    occurredAt: string;
  }
>;

/**
 * A hold ends without a sale: released by its partner (`txId` of the release request), or
 * lapsed past its expiry (`reason: 'expired'`, no request, dated at the hold's expiry).
 */
export type HoldReleased = DomainEvent<
  'HoldReleased',
  {
    txId: string | null;
    holdId: string;
    partnerId: string;
    externalId: string | null;
    memberId: string;
    points: number;
    reason: 'released' | 'expired';
    occurredAt: string;
  }
>;

/** Fraud control: the member's card is blocked; accruals, redemptions, holds and captures are refused until a replacement. */
export type CardBlocked = DomainEvent<
  'CardBlocked',
  {
    memberId: string;
    cardNumber: string;
    reason: string;
    /** The partner that asked (the one that enrolled the member), or `admin`. */
    blockedBy: string;
    occurredAt: string;
  }
>;

/** A new card for the member: the balance stays (it is the member's, not the card's) and the block ends. */
export type CardReplaced = DomainEvent<
  'CardReplaced',
  { memberId: string; previousCardNumber: string; cardNumber: string; occurredAt: string }
>;

export type VelocityRule = 'max_accruals_per_hour' | 'max_points_per_day';

/**
 * An accrual refused for exceeding a velocity limit of the programme, recorded instead of
 * it: the one refusal that writes (a fraud signal kept where an auditor finds it). No points move.
 */
export type SuspiciousActivityFlagged = DomainEvent<
  'SuspiciousActivityFlagged',
  {
    memberId: string;
    /** The refused accrual's would-be txId (`partnerId:externalId`); it is not reserved. */
    txId: string;
    partnerId: string;
    externalId: string;
    rule: VelocityRule;
    limit: number;
    /** What the window would have held with the refused accrual: accruals, or points. */
    observed: number;
    /** The window counted: a UTC clock hour (`2026-11-20T11`) or a UTC day (`2026-11-20`). */
    window: string;
    amountMinor: number;
    points: number;
    /** The refused accrual's business date. */
    occurredAt: string;
  }
>;

/**
 * The member's tier moved: up (`reason: 'qualified'`) in the same append as the accrual that
 * crossed the threshold, dated as it; down one tier at most (`reason: 'review'`) at an anniversary
 * review, dated at the anniversary. `qualifyingPoints`: the rolling-year points it was decided on.
 */
/**
 * A paid plan sold to the member by a partner (issue 14 §4): the fee is the selling partner's
 * income (a settlement line, no points move); while valid (validFrom ≤ business date <
 * validUntil) the plan multiplies the member's accruals and holds the tier at tierFloor.
 */
export type MembershipPurchased = DomainEvent<
  'MembershipPurchased',
  {
    txId: string;
    partnerId: string;
    externalId: string;
    memberId: string;
    planId: string;
    feeMinor: number;
    currency: string;
    validFrom: string;
    validUntil: string;
    multiplierBps: number;
    tierFloor?: string;
    occurredAt: string;
  }
>;

export type TierChanged = DomainEvent<
  'TierChanged',
  {
    memberId: string;
    fromTierId: string | null;
    toTierId: string | null;
    reason: 'qualified' | 'review';
    qualifyingPoints: number;
    /** The accrual that crossed the threshold (upgrades only). */
    txId?: string;
    occurredAt: string;
  }
>;

export type MemberEvent =
  | MemberEnrolled
  | TierChanged
  | PointsAccrued
  | PointsRedeemed
  | AccrualReversed
  | RedemptionReversed
  | PointsExpired
  | PointsReleased
  | PointsHeld
  | HoldCaptured
  | HoldReleased
  | CardBlocked
  | CardReplaced
  | SuspiciousActivityFlagged
  | BonusAwarded
  | MembershipPurchased;

export const MEMBER_EVENT_TYPES: ReadonlySet<string> = new Set([
  'MemberEnrolled',
  'PointsAccrued',
  'PointsRedeemed',
  'AccrualReversed',
  'RedemptionReversed',
  'PointsExpired',
  'PointsReleased',
  'PointsHeld',
  'HoldCaptured',
  'HoldReleased',
  'CardBlocked',
  'CardReplaced',
  'SuspiciousActivityFlagged',
  'TierChanged',
  'BonusAwarded',
  'MembershipPurchased',
]);
