import { AccrualItem, EarnRule, MemberMultiplier } from '../partner/partner';
import { MembershipPlan, SponsoredBonus, Tier, VelocityLimits } from '../program/program';
import { BonusKind } from './member.events';

/*
 * The member's commands: what each asks, and the programme and coalition rules it is decided
 * under (its context, read by the handler). Deciding them is member.decide.ts.
 */

/** Coalition rules a member transaction is decided under; the handler reads them from their streams. */
export interface TxContext {
  coalitionCurrency: string;
  pointValueMinor: number;
  expiryMonths: number;
  maxBackdateDays: number;
}

export type EnrolMember = {
  type: 'EnrolMember';
  data: { memberId: string; cardNumber: string; birthDate: string | null; enrolledBy: string | null; referredBy?: string };
  /** The programme's welcome bonus in force at enrolment, and the rules to value it (none without a programme). */
  context?: TxContext & { welcome?: SponsoredBonus };
};
export type AccruePoints = {
  type: 'AccruePoints';
  data: {
    partnerId: string;
    externalId: string;
    memberId: string;
    amountMinor: number;
    currency: string;
    occurredAt: string;
    /** The receipt's lines (their amounts add up to amountMinor): category multipliers apply per line. */
    items?: AccrualItem[];
  };
  /**
   * `limits`: the programme's velocity limits in force at the business date (none without a programme).
   * `plan`: a paid plan's multiplier while the member's plan is valid at the business date.
   * `tiers`: the programme's tiers in force at the business date (none without a programme).
   * `referral`: the programme's referral bonus, given with a referred member's first purchase.
   */
  context: TxContext & { earnRule: EarnRule; limits?: VelocityLimits; plan?: MemberMultiplier; tiers?: Tier[]; referral?: SponsoredBonus };
};
/**
 * Points given as a bonus (BonusAwarded). `txId` is the request's (`partnerId:externalId`,
 * `operator:externalId`) or deterministic for bonuses the ledger gives itself (birthday per
 * member-year, referral per pair), so a second award of the same bonus decides nothing.
 * `capPerMonth`: an action's cap per member per calendar month of `occurredAt` (UTC).
 */
export type AwardBonus = {
  type: 'AwardBonus';
  data: {
    txId: string;
    kind: BonusKind;
    partnerId: string;
    externalId: string | null;
    memberId: string;
    points: number;
    sponsor: string;
    reason: string;
    occurredAt: string;
  };
  context: TxContext & { capPerMonth?: number };
};
/**
 * A paid plan sold by a partner (MembershipPurchased). `context.plan`: the programme's plan
 * named by `planId` in force at the business date (the handler refuses an unknown one).
 */
export type PurchaseMembership = {
  type: 'PurchaseMembership';
  data: { partnerId: string; externalId: string; memberId: string; planId: string; occurredAt: string };
  context: TxContext & { plan: MembershipPlan };
};
export type RedeemPoints = {
  type: 'RedeemPoints';
  data: { partnerId: string; externalId: string; memberId: string; points: number; occurredAt: string };
  context: TxContext;
};
export type ReverseTransaction = {
  type: 'ReverseTransaction';
  /** `points`: part of the original (what remains of it when absent). */
  data: { partnerId: string; externalId: string; memberId: string; originalExternalId: string; occurredAt: string; points?: number };
  context: TxContext;
};
/** A checkout reserves points for `ttlSeconds` (bounds below); `holdId` = `partnerId:externalId`. */
export type PlaceHold = {
  type: 'PlaceHold';
  data: { partnerId: string; externalId: string; memberId: string; points: number; ttlSeconds: number; occurredAt: string };
  context: TxContext;
};
/** The holding partner turns `points` of the hold (all when null) into a redemption and releases the rest. */
export type CaptureHold = {
  type: 'CaptureHold';
  data: { partnerId: string; externalId: string; memberId: string; holdId: string; points: number | null; occurredAt: string };
  context: TxContext;
};
/** The holding partner gives the hold's points back; `occurredAt` is the clock's (the request has no date). */
export type ReleaseHold = {
  type: 'ReleaseHold';
  data: { partnerId: string; externalId: string; memberId: string; holdId: string; occurredAt: string };
  context: TxContext;
};
/** Records that a hold past its expiry has lapsed (a job's command, not a partner's). */
export type LapseHold = { type: 'LapseHold'; data: { memberId: string; holdId: string } };
/** Records that a pending lot's return window has ended (a job's command, not a partner's). */
export type ReleasePendingPoints = { type: 'ReleasePendingPoints'; data: { memberId: string; lotId: string } };
/** Fraud control: `blockedBy` is the enrolling partner or `admin` (the handler checked who may). */
export type BlockCard = { type: 'BlockCard'; data: { memberId: string; cardNumber: string; reason: string; blockedBy: string } };
/**
 * The anniversary review of the member's tier as of `at` (not after the clock): at the latest
 * anniversary of the last tier change, a member whose rolling-year points no longer reach the
 * tier drops one tier (never more). A job's command, not a partner's.
 */
export type ReviewTier = { type: 'ReviewTier'; data: { memberId: string; at: string }; context: { tiers: Tier[] } };
/** A new card for the member (the handler claimed it for the member first). */
export type ReplaceCard = { type: 'ReplaceCard'; data: { memberId: string; cardNumber: string } };

/**
 * Records the lapse of the member's lots that expired at or before `until` (which is not after
 * the clock): each one's unspent rest becomes breakage. A job's command, not a partner's.
 */
export type ExpireDueLots = {
  type: 'ExpireDueLots';
  data: { memberId: string; until: string };
  context: { coalitionCurrency: string };
};

export type MemberCommand =
  | EnrolMember
  | AccruePoints
  | RedeemPoints
  | ReverseTransaction
  | PlaceHold
  | CaptureHold
  | ReleaseHold
  | LapseHold
  | ReleasePendingPoints
  | BlockCard
  | ReplaceCard
  | ExpireDueLots
  | ReviewTier
  | AwardBonus
  | PurchaseMembership;

/** A hold lives between one second and thirty days. */
export const HOLD_TTL_SECONDS_MIN = 1;
export const HOLD_TTL_SECONDS_MAX = 30 * 24 * 3600;

export const txIdOf = (partnerId: string, externalId: string) => `${partnerId}:${externalId}`;

/** A transaction a partner posts: it has a receipt id, a business date and a member. */
export type PartnerTransaction = AccruePoints | RedeemPoints | ReverseTransaction | PlaceHold | CaptureHold | ReleaseHold;

/** A new transaction's id and business date (UTC), as the shared opening checks found them. */
export interface OpenedTransaction {
  txId: string;
  occurredAt: string;
}
