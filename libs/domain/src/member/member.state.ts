import { assert } from '../shared/errors';
import { fingerprintOf, fingerprintValue } from '../shared/fingerprint';
import { BonusKind, LotSlice, MemberEvent } from './member.events';

export interface Lot {
  lotId: string;
  issuerPartnerId: string;
  /** Points still in the lot. */
  points: number;
  expiresAt: string;
  /** Order of creation, the FIFO tie-break between lots expiring together. */
  seq: number;
  /**
   * Set while the lot is pending (its accrual had a return window) and its PointsReleased is
   * not yet written. The lot is spendable from this instant on whether or not the release is
   * recorded: use `isPendingAt`, never the field's presence alone.
   */
  availableAt?: string;
}

/** Whether a lot (or lot info) is still in its return window at `at`: not spendable, shown as pending. */
export const isPendingAt = (lot: { availableAt?: string }, at: string): boolean =>
  lot.availableAt !== undefined && Date.parse(lot.availableAt) > Date.parse(at);

/**
 * What lets a balance skip walking a member's lots: the earliest expiry among them and the
 * latest end of a pending window. Kept beside each lots array rather than in the state, so
 * every evolve that makes a new array stays as it is (its bounds are found on first use); an
 * accrual, which appends to the array in place, moves them. Without this, every transaction
 * walked every open lot twice, and a member with thousands of lots paid for each of them.
 */
interface LotBounds {
  /** Earliest `expiresAt` (UTC ISO text, compared as text), undefined without lots. */
  earliestExpiresAt: string | undefined;
  /** Latest `availableAt` in ms, -Infinity when no lot has one. */
  latestAvailableMs: number;
}
const lotBounds = new WeakMap<readonly Lot[], LotBounds>();

function boundsOf(lots: readonly Lot[]): LotBounds {
  let bounds = lotBounds.get(lots);
  if (bounds === undefined) {
    bounds = { earliestExpiresAt: undefined, latestAvailableMs: -Infinity };
    for (const lot of lots) widenBounds(bounds, lot);
    lotBounds.set(lots, bounds);
  }
  return bounds;
}

function widenBounds(bounds: LotBounds, lot: Lot): void {
  if (bounds.earliestExpiresAt === undefined || lot.expiresAt < bounds.earliestExpiresAt) bounds.earliestExpiresAt = lot.expiresAt;
  if (lot.availableAt !== undefined) bounds.latestAvailableMs = Math.max(bounds.latestAvailableMs, Date.parse(lot.availableAt));
}

/** Points in lots still pending at `at`. */
export function pendingPointsAt(lots: readonly Lot[], at: string): number {
  if (boundsOf(lots).latestAvailableMs <= Date.parse(at)) return 0;
  let pending = 0;
  for (const lot of lots) if (isPendingAt(lot, at)) pending += lot.points;
  return pending;
}

export type TxKind =
  'accrual' | 'bonus' | 'membership' | 'redemption' | 'accrual_reversal' | 'redemption_reversal' | 'hold' | 'hold_capture' | 'hold_release';

/** A checkout's hold; `open` until captured, released, or lapsed by an event. */
export interface Hold {
  holdId: string;
  partnerId: string;
  points: number;
  expiresAt: string;
  status: 'open' | 'captured' | 'released' | 'expired';
}

/** What a posted transaction answered, so a retry gets the very same answer. */
export interface TxRecord {
  kind: TxKind;
  /** The request fields that define the transaction (fingerprintOf). */
  fingerprint: string;
  points: number;
  balanceAfter: number;
  slices: LotSlice[];
  /**
   * Log position of the transaction's last event: a tier change or a capture written with it
   * counts, so a read at this position sees the whole transaction.
   */
  position: number;
  occurredAt: string;
  /** Point value the transaction was valued at; a reversal is valued the same (0 for holds: no value moves). */
  pointValueMinor: number;
  /** A bonus's kind and reason (the action's name for an action: monthly caps count them). */
  bonus?: { kind: BonusKind; reason: string };
}

/** A paid plan held: its benefit while validFrom ≤ business date < validUntil. */
export interface Membership {
  txId: string;
  planId: string;
  /** The fee paid, as recorded (a retry answers it even if the plan's fee changed since). */
  feeMinor: number;
  validFrom: string;
  validUntil: string;
  multiplierBps: number;
  tierFloor?: string;
}

/**
 * The plan valid at business date `at` (UTC ISO). Two overlapping purchases: the later one
 * applies (its terms are the newer), so a renewal bought before the lapse takes over at once.
 */
export function membershipAt(state: Pick<MemberState, 'memberships'>, at: string): Membership | undefined {
  const t = Date.parse(at);
  for (let i = state.memberships.length - 1; i >= 0; i--) {
    const m = state.memberships[i];
    if (Date.parse(m.validFrom) <= t && t < Date.parse(m.validUntil)) return m;
  }
  return undefined;
}

/** A new field must be copied in `nextState` too (member.state.spec checks the initial state's). */
export interface MemberState {
  status: 'none' | 'active';
  memberId: string;
  cardNumber: string;
  birthDate: string | null;
  enrolledAt: string;
  /** The partner that enrolled the member (null: an admin did); it may block and replace the card. */
  enrolledBy: string | null;
  /** Fraud control: blocked until a replacement card is issued. */
  cardBlocked: boolean;
  /** The programme tier held (null: none yet), and the business date of its last TierChanged (anniversaries count from it). */
  tier: string | null;
  tierSince: string | null;
  /** The member who referred this one, if any: both get the referral bonus at this member's first purchase. */
  referredBy: string | null;
  /** Accruals posted so far (the first purchase triggers the referral bonus). */
  purchases: number;
  /** The first accrual's txId (null before it): its retry completes the referrer's bonus. */
  firstPurchaseTxId: string | null;
  /** Paid plans bought, in purchase order: each applies within its own window by business date. */
  memberships: Membership[];
  /** Accruals refused by a velocity limit and flagged, by txId: a retry is refused again without a second flag. */
  flaggedTxIds: Set<string>;
  /** Open lots (points > 0), in creation order. */
  lots: Lot[];
  /** Points in the open lots, pending ones included (`pendingPointsAt` tells them apart at a moment). */
  available: number;
  /** Points on holds not yet ended by an event (a lapsed one still counts here until its HoldReleased). */
  held: number;
  /** Every hold, by holdId (shared between successive states, as `transactions`). */
  holds: Map<string, Hold>;
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lifetimeExpired: number;
  nextLotSeq: number;
  transactions: Map<string, TxRecord>;
  /** Every lot ever created, open or empty: a returned slice reopens its lot from here. */
  lotIndex: Map<string, LotInfo>;
  /** Original txIds that have been reversed (each may be reversed once). */
  reversedTxIds: Set<string>;
  /** Points reversed so far, by original txId (several partial reversals may add up to it). Shared as `transactions`. */
  reversedPoints: Map<string, number>;
  /** Slices given back so far by reversals of a redemption, by original txId. Shared as `transactions`. */
  returnedSlices: Map<string, LotSlice[]>;
  /**
   * The velocity limits' windows, kept as the accruals are folded so a check does not walk every
   * transaction: accruals by the UTC clock hour of their business date (`YYYY-MM-DDTHH`), and their
   * points by UTC day (`YYYY-MM-DD`). Gross: a reversal does not take them back. Shared as `transactions`.
   */
  accrualsByHour: Map<string, number>;
  accruedPointsByDay: Map<string, number>;
}

export interface LotInfo {
  issuerPartnerId: string;
  expiresAt: string;
  seq: number;
  pointsIssued: number;
  /** As on the Lot: set from a pending accrual until its PointsReleased. */
  availableAt?: string;
}

export const initialMember = (): MemberState => ({
  status: 'none',
  memberId: '',
  cardNumber: '',
  birthDate: null,
  enrolledAt: '',
  enrolledBy: null,
  cardBlocked: false,
  tier: null,
  tierSince: null,
  referredBy: null,
  purchases: 0,
  firstPurchaseTxId: null,
  memberships: [],
  flaggedTxIds: new Set(),
  lots: [],
  available: 0,
  held: 0,
  holds: new Map(),
  lifetimeAccrued: 0,
  lifetimeRedeemed: 0,
  lifetimeExpired: 0,
  nextLotSeq: 0,
  transactions: new Map(),
  lotIndex: new Map(),
  reversedTxIds: new Set(),
  reversedPoints: new Map(),
  returnedSlices: new Map(),
  accrualsByHour: new Map(),
  accruedPointsByDay: new Map(),
});

/*
 * The request fields that make two posts "the same transaction". The fingerprints of the
 * transactions most of a member's stream holds (accruals, redemptions, reversals) are made for
 * every one folded when a member is loaded, so they are written out in `fingerprintOf`'s form,
 * keys in code-unit order, without its sort of the keys (member.fingerprint.spec holds each
 * equal to `fingerprintOf` of its fields).
 */

/** Items, when sent, are part of the accrual: a retry with other lines under the receipt id is another transaction. */
export const accrualFingerprint = (d: {
  memberId: string;
  amountMinor: number;
  currency: string;
  occurredAt: string;
  items?: readonly { sku: string; category: string; amountMinor: number }[];
}): string => {
  const parts = ['"amountMinor":' + fingerprintValue(d.amountMinor), '"currency":' + fingerprintValue(d.currency)];
  if (d.items !== undefined) parts.push('"items":' + fingerprintValue(itemsText(d.items)));
  parts.push('"kind":"accrual"', '"memberId":' + fingerprintValue(d.memberId), '"occurredAt":' + fingerprintValue(d.occurredAt));
  return parts.join(',');
};

/** An accrual's items as its fingerprint holds them: one JSON text of [sku, category, amountMinor] lines. */
const itemsText = (items: readonly { sku: string; category: string; amountMinor: number }[]): string =>
  JSON.stringify(items.map((i) => [i.sku, i.category, i.amountMinor]));

export const redemptionFingerprint = (d: { memberId: string; points: number; occurredAt: string }): string =>
  [
    '"kind":"redemption"',
    '"memberId":' + fingerprintValue(d.memberId),
    '"occurredAt":' + fingerprintValue(d.occurredAt),
    '"points":' + fingerprintValue(d.points),
  ].join(',');

export const reversalFingerprint = (d: { memberId: string; originalTxId: string; points: number; occurredAt: string }): string =>
  [
    '"kind":"reversal"',
    '"memberId":' + fingerprintValue(d.memberId),
    '"occurredAt":' + fingerprintValue(d.occurredAt),
    '"originalTxId":' + fingerprintValue(d.originalTxId),
    '"points":' + fingerprintValue(d.points),
  ].join(',');

export const holdFingerprint = (d: { memberId: string; points: number; ttlSeconds: number; occurredAt: string }) =>
  fingerprintOf({ kind: 'hold', memberId: d.memberId, points: d.points, ttlSeconds: d.ttlSeconds, occurredAt: d.occurredAt });

/** `points` as captured: a capture of "all" and one naming the held amount are the same request. */
export const captureFingerprint = (d: { memberId: string; holdId: string; points: number; occurredAt: string }) =>
  fingerprintOf({ kind: 'hold_capture', memberId: d.memberId, holdId: d.holdId, points: d.points, occurredAt: d.occurredAt });

/**
 * What makes two bonus awards "the same bonus". A surprise has no business date in its request
 * (it is dated by the clock): its points and reason. An action: its name and date. The bonuses
 * the ledger gives itself (welcome, birthday, referral) have a txId per member (and year, or
 * referred member), so one under that txId is the same bonus whenever a run gives it.
 */
export const bonusFingerprint = (d: { kind: BonusKind; memberId: string; points: number; reason: string; occurredAt: string }) => {
  const base = { kind: 'bonus', bonusKind: d.kind, memberId: d.memberId, reason: d.reason };
  if (d.kind === 'surprise') return fingerprintOf({ ...base, points: d.points });
  if (d.kind === 'action') return fingerprintOf({ ...base, occurredAt: d.occurredAt });
  return fingerprintOf(base);
};

/** The same purchase: the same plan for the same member at the same business date. */
export const membershipFingerprint = (d: { memberId: string; planId: string; occurredAt: string }) =>
  fingerprintOf({ kind: 'membership', memberId: d.memberId, planId: d.planId, occurredAt: d.occurredAt });

/** A release carries no business date of its own (it is dated by the clock), so none is compared. */
export const releaseFingerprint = (d: { memberId: string; holdId: string }) =>
  fingerprintOf({ kind: 'hold_release', memberId: d.memberId, holdId: d.holdId });

/**
 * The state after an event: every field of `state`, with `changes` written over it. The fields
 * are copied in one literal, so every state has one shape; a spread of the state (some thirty
 * fields) cost about twenty times as much, and it runs for every event folded.
 */
function nextState(state: MemberState, changes: Partial<MemberState>): MemberState {
  const next: MemberState = {
    status: state.status,
    memberId: state.memberId,
    cardNumber: state.cardNumber,
    birthDate: state.birthDate,
    enrolledAt: state.enrolledAt,
    enrolledBy: state.enrolledBy,
    cardBlocked: state.cardBlocked,
    tier: state.tier,
    tierSince: state.tierSince,
    referredBy: state.referredBy,
    purchases: state.purchases,
    firstPurchaseTxId: state.firstPurchaseTxId,
    memberships: state.memberships,
    flaggedTxIds: state.flaggedTxIds,
    lots: state.lots,
    available: state.available,
    held: state.held,
    holds: state.holds,
    lifetimeAccrued: state.lifetimeAccrued,
    lifetimeRedeemed: state.lifetimeRedeemed,
    lifetimeExpired: state.lifetimeExpired,
    nextLotSeq: state.nextLotSeq,
    transactions: state.transactions,
    lotIndex: state.lotIndex,
    reversedTxIds: state.reversedTxIds,
    reversedPoints: state.reversedPoints,
    returnedSlices: state.returnedSlices,
    accrualsByHour: state.accrualsByHour,
    accruedPointsByDay: state.accruedPointsByDay,
  };
  return Object.assign(next, changes);
}

/**
 * Applies a fact. `position` is the event's global position when folded from the store
 * (the domain itself never needs it; the original answer to a retried request does).
 */
export function evolveMember(state: MemberState, event: MemberEvent, position = -1): MemberState {
  switch (event.type) {
    case 'MemberEnrolled': {
      const d = event.data;
      return nextState(state, {
        status: 'active',
        memberId: d.memberId,
        cardNumber: d.cardNumber,
        birthDate: d.birthDate,
        enrolledAt: d.occurredAt,
        enrolledBy: d.enrolledBy,
        referredBy: d.referredBy ?? null,
      });
    }
    case 'BonusAwarded': {
      const d = event.data;
      state.lotIndex.set(d.lotId, {
        issuerPartnerId: d.issuerPartnerId,
        expiresAt: d.expiresAt,
        seq: state.nextLotSeq,
        pointsIssued: d.points,
      });
      const lot = { lotId: d.lotId, issuerPartnerId: d.issuerPartnerId, points: d.points, expiresAt: d.expiresAt, seq: state.nextLotSeq };
      const next = nextState(state, {
        lots: [...state.lots, lot],
        available: state.available + d.points,
        lifetimeAccrued: state.lifetimeAccrued + d.points,
        nextLotSeq: state.nextLotSeq + 1,
      });
      return withTx(next, d, {
        kind: 'bonus',
        fingerprint: bonusFingerprint(d),
        slices: [],
        position,
        bonus: { kind: d.kind, reason: d.reason },
      });
    }
    case 'MembershipPurchased': {
      const d = event.data;
      const held: Membership = {
        txId: d.txId,
        planId: d.planId,
        feeMinor: d.feeMinor,
        validFrom: d.validFrom,
        validUntil: d.validUntil,
        multiplierBps: d.multiplierBps,
        ...(d.tierFloor === undefined ? {} : { tierFloor: d.tierFloor }),
      };
      // No points move: the record carries 0 points and no point value.
      return withTx(
        nextState(state, { memberships: [...state.memberships, held] }),
        { ...d, points: 0, pointValueMinor: 0 },
        {
          kind: 'membership',
          fingerprint: membershipFingerprint(d),
          slices: [],
          position,
        },
      );
    }
    case 'CardBlocked':
      return nextState(state, { cardBlocked: true });
    case 'TierChanged': {
      const d = event.data;
      // An upgrade is written with the accrual that qualified for it and ends that transaction.
      const accrual = d.txId === undefined ? undefined : state.transactions.get(d.txId);
      if (accrual !== undefined) state.transactions.set(d.txId!, { ...accrual, position });
      return nextState(state, { tier: d.toTierId, tierSince: d.occurredAt });
    }
    case 'CardReplaced':
      return nextState(state, { cardNumber: event.data.cardNumber, cardBlocked: false });
    case 'SuspiciousActivityFlagged':
      // Shared between successive states, as `transactions`.
      state.flaggedTxIds.add(event.data.txId);
      return nextState(state, {});
    case 'PointsAccrued': {
      const d = event.data;
      const pending = d.availableAt === undefined ? {} : { availableAt: d.availableAt };
      if (d.points > 0) {
        state.lotIndex.set(d.lotId, {
          issuerPartnerId: d.issuerPartnerId,
          expiresAt: d.expiresAt,
          seq: state.nextLotSeq,
          pointsIssued: d.points,
          ...pending,
        });
      }
      // Appended in place, like the maps: a state is never reused once evolved, and copying
      // the array made every accrual cost as much as the member's open lots.
      const lots = state.lots;
      if (d.points > 0) {
        const lot: Lot = {
          lotId: d.lotId,
          issuerPartnerId: d.issuerPartnerId,
          points: d.points,
          expiresAt: d.expiresAt,
          seq: state.nextLotSeq,
          ...pending,
        };
        const bounds = lotBounds.get(lots);
        lots.push(lot);
        if (bounds !== undefined) widenBounds(bounds, lot);
      }
      const hour = d.occurredAt.slice(0, 13);
      const day = d.occurredAt.slice(0, 10);
      state.accrualsByHour.set(hour, (state.accrualsByHour.get(hour) ?? 0) + 1);
      state.accruedPointsByDay.set(day, (state.accruedPointsByDay.get(day) ?? 0) + d.points);
      const grown = nextState(state, {
        lots,
        available: state.available + d.points,
        lifetimeAccrued: state.lifetimeAccrued + d.points,
        nextLotSeq: state.nextLotSeq + 1,
        purchases: state.purchases + 1,
        firstPurchaseTxId: state.firstPurchaseTxId ?? d.txId,
      });
      return withTx(grown, d, {
        kind: 'accrual',
        fingerprint: accrualFingerprint(d),
        slices: [],
        position,
      });
    }
    case 'PointsRedeemed': {
      const d = event.data;
      const available = state.available - d.points;
      assert(available >= 0, 'available never goes negative');
      return withTx(
        nextState(state, { lots: takeSlices(state.lots, d.slices), available, lifetimeRedeemed: state.lifetimeRedeemed + d.points }),
        d,
        { kind: 'redemption', fingerprint: redemptionFingerprint(d), slices: d.slices, position },
      );
    }
    case 'AccrualReversed': {
      const d = event.data;
      const available = state.available - d.points;
      assert(available >= 0, 'available never goes negative');
      const slice = { lotId: d.lotId, issuerPartnerId: d.issuerPartnerId, points: d.points };
      return withTx(
        nextState(state, {
          lots: takeSlices(state.lots, [slice]),
          available,
          lifetimeAccrued: state.lifetimeAccrued - d.points,
          reversedTxIds: reversedIn(state, d.originalTxId, d.points),
        }),
        d,
        { kind: 'accrual_reversal', fingerprint: reversalFingerprint(d), slices: [slice], position },
      );
    }
    case 'RedemptionReversed': {
      const d = event.data;
      const available = state.available + d.points;
      return withTx(
        nextState(state, {
          lots: returnSlices(state.lots, d.slices, state.lotIndex),
          available,
          lifetimeRedeemed: state.lifetimeRedeemed - d.points,
          reversedTxIds: reversedIn(state, d.originalTxId, d.points, d.slices),
        }),
        d,
        { kind: 'redemption_reversal', fingerprint: reversalFingerprint(d), slices: d.slices, position },
      );
    }
    case 'PointsExpired': {
      const d = event.data;
      const available = state.available - d.points;
      assert(available >= 0, 'available never goes negative');
      const next = nextState(state, {
        lots: takeSlices(state.lots, [{ lotId: d.lotId, issuerPartnerId: d.issuerPartnerId, points: d.points }]),
        available,
        lifetimeExpired: state.lifetimeExpired + d.points,
      });
      // A lapse written with a reversal ends that reversal: its answer is the state after it.
      const reversal = d.txId === undefined ? undefined : state.transactions.get(d.txId);
      if (reversal !== undefined) {
        state.transactions.set(d.txId!, { ...reversal, balanceAfter: spendableBalance(next, reversal.occurredAt), position });
      }
      return next;
    }
    case 'PointsReleased': {
      // Nothing moves: the lot was spendable from availableAt on; the release only records it.
      const d = event.data;
      const info = state.lotIndex.get(d.lotId);
      assert(info !== undefined && info.availableAt !== undefined, 'only a pending lot is released');
      const { availableAt: _released, ...rest } = info;
      state.lotIndex.set(d.lotId, rest);
      const lots = state.lots.map((lot) => {
        if (lot.lotId !== d.lotId) return lot;
        const { availableAt: _a, ...released } = lot;
        return released;
      });
      return nextState(state, { lots });
    }
    case 'PointsHeld': {
      const d = event.data;
      state.holds.set(d.holdId, { holdId: d.holdId, partnerId: d.partnerId, points: d.points, expiresAt: d.expiresAt, status: 'open' });
      const next = nextState(state, { held: state.held + d.points });
      return record(
        next,
        d.txId,
        { kind: 'hold', fingerprint: holdFingerprint(d), points: d.points, slices: [], position },
        d.occurredAt,
        0,
      );
    }
    case 'HoldCaptured': {
      const d = event.data;
      const next = closeHold(state, d.holdId, 'captured', d.points + d.releasedPoints);
      // The PointsRedeemed just before, under the same txId, holds the slices and the value.
      const redeemed = state.transactions.get(d.txId);
      assert(redeemed !== undefined && redeemed.kind === 'redemption', 'a capture follows its redemption');
      const fingerprint = captureFingerprint({ memberId: d.memberId, holdId: d.holdId, points: d.points, occurredAt: d.occurredAt });
      return record(
        next,
        d.txId,
        { kind: 'hold_capture', fingerprint, points: d.points, slices: redeemed.slices, position },
        d.occurredAt,
        redeemed.pointValueMinor,
      );
    }
    case 'HoldReleased': {
      const d = event.data;
      const next = closeHold(state, d.holdId, d.reason === 'expired' ? 'expired' : 'released', d.points);
      if (d.txId === null) return next;
      const fingerprint = releaseFingerprint({ memberId: d.memberId, holdId: d.holdId });
      return record(next, d.txId, { kind: 'hold_release', fingerprint, points: d.points, slices: [], position }, d.occurredAt, 0);
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown member event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Adds a reversal to its original's tally; the original joins `reversedTxIds` once reversed in full. */
function reversedIn(state: MemberState, originalTxId: string, points: number, slices?: readonly LotSlice[]): Set<string> {
  const total = (state.reversedPoints.get(originalTxId) ?? 0) + points;
  const original = state.transactions.get(originalTxId);
  assert(original !== undefined && total <= original.points, 'no more is reversed than the original moved');
  state.reversedPoints.set(originalTxId, total);
  if (slices) state.returnedSlices.set(originalTxId, [...(state.returnedSlices.get(originalTxId) ?? []), ...slices]);
  return total === original.points ? new Set(state.reversedTxIds).add(originalTxId) : state.reversedTxIds;
}

/** Ends an open hold; its points are no longer held. */
function closeHold(state: MemberState, holdId: string, status: Hold['status'], points: number): MemberState {
  const hold = state.holds.get(holdId);
  assert(hold !== undefined && hold.status === 'open', 'only an open hold ends');
  assert(points === hold.points, 'a hold ends with all its points');
  state.holds.set(holdId, { ...hold, status });
  const held = state.held - hold.points;
  assert(held >= 0, 'held never goes negative');
  return nextState(state, { held });
}

/**
 * The balance a transaction answers with: the lots, less holds and the lots pending or expired
 * at its business date (an expired lot stops counting before its lapse is recorded).
 */
const spendableBalance = (state: MemberState, at: string): number =>
  state.available - state.held - pendingPointsAt(state.lots, at) - expiredPointsAt(state.lots, at);

function record(
  state: MemberState,
  txId: string,
  r: Pick<TxRecord, 'kind' | 'fingerprint' | 'points' | 'slices' | 'position'>,
  occurredAt: string,
  pointValueMinor: number,
): MemberState {
  state.transactions.set(
    txId,
    txRecord(r.kind, r.fingerprint, r.points, spendableBalance(state, occurredAt), r.slices, r.position, occurredAt, pointValueMinor),
  );
  return state;
}

/** Records a transaction's answer on the state it produced: its balance is that state's. */
function withTx(
  state: MemberState,
  d: { txId: string; points: number; occurredAt: string; pointValueMinor: number },
  record: Pick<TxRecord, 'kind' | 'fingerprint' | 'slices' | 'position' | 'bonus'>,
): MemberState {
  // The transactions and lot maps are shared between successive states for speed: folding
  // a long stream must not copy every earlier entry. A state is never reused once evolved.
  const tx = txRecord(
    record.kind,
    record.fingerprint,
    d.points,
    // What the member can spend: the lots, less what is on hold and what is still pending.
    spendableBalance(state, d.occurredAt),
    record.slices,
    record.position,
    d.occurredAt,
    d.pointValueMinor,
  );
  if (record.bonus !== undefined) tx.bonus = record.bonus;
  state.transactions.set(d.txId, tx);
  return state;
}

/** Every record is built with its fields in one order, so all share one shape (it runs for every event folded). */
function txRecord(
  kind: TxKind,
  fingerprint: string,
  points: number,
  balanceAfter: number,
  slices: LotSlice[],
  position: number,
  occurredAt: string,
  pointValueMinor: number,
): TxRecord {
  return { kind, fingerprint, points, balanceAfter, slices, position, occurredAt, pointValueMinor };
}

/**
 * Points in lots expired at `at`, lapse not yet recorded. Both dates are UTC ISO strings as
 * toISOString writes them, so they compare as text (this runs for every transaction folded).
 */
function expiredPointsAt(lots: readonly Lot[], at: string): number {
  const earliest = boundsOf(lots).earliestExpiresAt;
  if (earliest === undefined || earliest > at) return 0;
  let points = 0;
  for (const lot of lots) if (lot.expiresAt <= at) points += lot.points;
  return points;
}

function takeSlices(lots: Lot[], slices: readonly LotSlice[]): Lot[] {
  const taken = new Map<string, number>();
  for (const s of slices) if (s.points > 0) taken.set(s.lotId, (taken.get(s.lotId) ?? 0) + s.points);
  const next: Lot[] = [];
  for (const lot of lots) {
    const t = taken.get(lot.lotId) ?? 0;
    assert(t <= lot.points, 'a slice never exceeds its lot');
    if (lot.points - t > 0) next.push(t === 0 ? lot : { ...lot, points: lot.points - t });
    taken.delete(lot.lotId);
  }
  assert(taken.size === 0, 'every slice names an open lot');
  return next;
}

function returnSlices(lots: Lot[], slices: readonly LotSlice[], lotIndex: Map<string, LotInfo>): Lot[] {
  const returned = new Map<string, number>();
  for (const s of slices) returned.set(s.lotId, (returned.get(s.lotId) ?? 0) + s.points);
  const next = lots.map((lot) => {
    const back = returned.get(lot.lotId);
    if (back === undefined) return lot;
    returned.delete(lot.lotId);
    return { ...lot, points: lot.points + back };
  });
  // Lots emptied since reopen with their issuer, expiry and place in line.
  for (const [lotId, points] of returned) {
    const info = lotIndex.get(lotId);
    assert(info !== undefined, 'a returned slice names a lot that existed');
    const pending = info.availableAt === undefined ? {} : { availableAt: info.availableAt };
    next.push({ lotId, issuerPartnerId: info.issuerPartnerId, points, expiresAt: info.expiresAt, seq: info.seq, ...pending });
  }
  return next.sort((a, b) => a.seq - b.seq);
}
