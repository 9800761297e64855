import { Conflict, NotFound, Refused, assert } from '../shared/errors';
import {
  CaptureHold,
  HOLD_TTL_SECONDS_MAX,
  HOLD_TTL_SECONDS_MIN,
  LapseHold,
  OpenedTransaction,
  PlaceHold,
  ReleaseHold,
  TxContext,
} from './member.commands';
import { LotSlice, MemberEvent, PointsRedeemed } from './member.events';
import { Hold, Lot, MemberState, isPendingAt } from './member.state';

/*
 * What a member can spend at a moment, and the holds that reserve part of it: the rules that
 * redemptions, refunds and the hold commands share, and the hold commands' deciders.
 */

/**
 * Points a member can spend at a moment: lots not yet expired then, and past their return
 * window (a pending lot is spendable from its availableAt on, its release recorded or not).
 */
export const spendableLots = (lots: readonly Lot[], at: string): Lot[] => {
  const t = Date.parse(at);
  return lots.filter((lot) => Date.parse(lot.expiresAt) > t && !isPendingAt(lot, at));
};

/**
 * What the member can spend at `at`: points in the lots not expired by then, less what holds
 * live then keep. An expired lot stops counting at its expiry, whether or not its lapse is
 * recorded yet. Never below 0: decisions keep every live hold covered
 * by lots until it lapses (holdsStayCovered); the floor only guards.
 */
export function availableAt(state: MemberState, at: Date): number {
  const inLots = spendableLots(state.lots, at.toISOString()).reduce((sum, lot) => sum + lot.points, 0);
  return Math.max(0, inLots - liveHeld(state, at));
}

/**
 * Oldest expiry first, so the member spends what would lapse soonest; among lots that
 * expire together, the oldest lot first.
 */
export function allocateFifo(lots: readonly Lot[], points: number): LotSlice[] {
  const ordered = [...lots].sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt) || a.seq - b.seq);
  const slices: LotSlice[] = [];
  let left = points;
  for (const lot of ordered) {
    if (left === 0) break;
    const take = Math.min(left, lot.points);
    slices.push({ lotId: lot.lotId, issuerPartnerId: lot.issuerPartnerId, points: take });
    left -= take;
  }
  assert(left === 0, 'allocation covers the points asked (caller checked the balance)');
  assert(slices.reduce((sum, s) => sum + s.points, 0) === points, 'slices sum to the points redeemed');
  return slices;
}

/** Points on holds still live at `now`: a hold past its expiry keeps nothing, whether or not its lapse is recorded. */
export function liveHeld(state: MemberState, now: Date, exceptHoldId?: string): number {
  let held = 0;
  for (const h of state.holds.values()) {
    if (h.status === 'open' && h.holdId !== exceptHoldId && Date.parse(h.expiresAt) > now.getTime()) held += h.points;
  }
  return held;
}

/** Holds not yet ended by an event (lapsed ones included: holdsStayCovered looks only at live ones). */
export function openHolds(state: MemberState, exceptHoldId?: string): Hold[] {
  return [...state.holds.values()].filter((h) => h.status === 'open' && h.holdId !== exceptHoldId);
}

/**
 * A hold promises its points until its expiry, yet lots expire on the clock while it is open: a
 * hold could outlive the lots that covered it when placed, and available (spendable − held) go
 * negative. So a decision that places a hold or takes points must leave lots that, at every moment
 * from now on, cover the holds still live at that moment. Only lots spendable now back a hold (a
 * pending lot does not, so cancelling one never touches a hold); among them spendable minus held
 * only drops when a lot expires, so checking now and each lot expiry before the last hold's is enough.
 */
export function holdsStayCovered(lots: readonly Lot[], holds: readonly Pick<Hold, 'points' | 'expiresAt'>[], now: Date): boolean {
  const live = holds.filter((h) => Date.parse(h.expiresAt) > now.getTime());
  if (live.length === 0) return true;
  const lastHold = Math.max(...live.map((h) => Date.parse(h.expiresAt)));
  const backing = spendableLots(lots, now.toISOString());
  const moments = new Set([now.getTime()]);
  for (const lot of backing) {
    const t = Date.parse(lot.expiresAt);
    if (t < lastHold) moments.add(t);
  }
  for (const t of moments) {
    const spendable = backing.reduce((sum, lot) => sum + (Date.parse(lot.expiresAt) > t ? lot.points : 0), 0);
    const held = live.reduce((sum, h) => sum + (Date.parse(h.expiresAt) > t ? h.points : 0), 0);
    if (spendable < held) return false;
  }
  return true;
}

function requireHoldsCovered(
  memberId: string,
  lots: readonly Lot[],
  holds: readonly Pick<Hold, 'points' | 'expiresAt'>[],
  now: Date,
  points: number,
): void {
  if (!holdsStayCovered(lots, holds, now)) {
    throw new Refused(
      'insufficient_points',
      `member ${memberId} has too few points that stay spendable until the open holds expire for ${points} more`,
    );
  }
}

/** The open lots as they would be after the slices are taken. */
export function lotsAfterTaking(lots: readonly Lot[], slices: readonly LotSlice[]): Lot[] {
  const taken = new Map<string, number>();
  for (const s of slices) taken.set(s.lotId, (taken.get(s.lotId) ?? 0) + s.points);
  return lots
    .map((lot) => (taken.has(lot.lotId) ? { ...lot, points: lot.points - taken.get(lot.lotId)! } : lot))
    .filter((l) => l.points > 0);
}

/** A redemption, hold or capture never spends points a live hold keeps (422 insufficient_points). */
function requireAvailable(
  state: MemberState,
  memberId: string,
  spendable: readonly Lot[],
  points: number,
  now: Date,
  exceptHoldId?: string,
) {
  const available = spendable.reduce((sum, lot) => sum + lot.points, 0) - liveHeld(state, now, exceptHoldId);
  if (available < points) {
    throw new Refused('insufficient_points', `member ${memberId} has ${Math.max(available, 0)} points available, ${points} asked`);
  }
}

export function hold(cmd: PlaceHold, state: MemberState, { txId, occurredAt }: OpenedTransaction, now: Date): MemberEvent[] {
  const { partnerId, externalId, memberId, points, ttlSeconds } = cmd.data;
  assert(Number.isSafeInteger(points) && points > 0, 'points validated upstream');
  assert(
    Number.isSafeInteger(ttlSeconds) && ttlSeconds >= HOLD_TTL_SECONDS_MIN && ttlSeconds <= HOLD_TTL_SECONDS_MAX,
    'TTL validated upstream',
  );
  requireAvailable(state, memberId, spendableLots(state.lots, occurredAt), points, now);
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  // The points must stay spendable until the hold expires, not only be there now.
  requireHoldsCovered(memberId, state.lots, [...openHolds(state), { points, expiresAt }], now, points);
  return [{ type: 'PointsHeld', data: { txId, holdId: txId, partnerId, externalId, memberId, points, ttlSeconds, expiresAt, occurredAt } }];
}

/**
 * The hold the holding partner names, open and not past its expiry. Another partner's hold
 * is as unknown to it as one that never was: 404, so it cannot learn that the hold exists.
 */
function openHoldOf(state: MemberState, partnerId: string, holdId: string, now: Date): Hold {
  const hold = state.holds.get(holdId);
  if (hold === undefined || hold.partnerId !== partnerId) throw new NotFound('hold', holdId);
  if (hold.status !== 'open') throw new Conflict('hold_closed', `hold ${holdId} is already ${hold.status}`);
  if (Date.parse(hold.expiresAt) <= now.getTime()) throw new Conflict('hold_expired', `hold ${holdId} expired at ${hold.expiresAt}`);
  return hold;
}

/**
 * A redemption of `points` at the business date (RedeemPoints, or a captured hold): the lots
 * spendable then, first-in-first-out, refused when the member cannot spend that many or when
 * taking them would leave a live hold uncovered. A capture's own hold is left out of both.
 */
export function redemption(
  state: MemberState,
  tx: OpenedTransaction & { partnerId: string; externalId: string; memberId: string; points: number },
  context: TxContext,
  now: Date,
  exceptHoldId?: string,
): PointsRedeemed {
  const { txId, partnerId, externalId, memberId, points, occurredAt } = tx;
  const spendable = spendableLots(state.lots, occurredAt);
  requireAvailable(state, memberId, spendable, points, now, exceptHoldId);
  const slices = allocateFifo(spendable, points);
  requireHoldsCovered(memberId, lotsAfterTaking(state.lots, slices), openHolds(state, exceptHoldId), now, points);
  return {
    type: 'PointsRedeemed',
    data: {
      txId,
      partnerId,
      externalId,
      memberId,
      points,
      pointValueMinor: context.pointValueMinor,
      currency: context.coalitionCurrency,
      slices,
      occurredAt,
    },
  };
}

export function capture(cmd: CaptureHold, state: MemberState, { txId, occurredAt }: OpenedTransaction, now: Date): MemberEvent[] {
  const { partnerId, externalId, memberId, holdId } = cmd.data;
  const hold = openHoldOf(state, partnerId, holdId, now);
  const points = cmd.data.points ?? hold.points;
  assert(Number.isSafeInteger(points) && points > 0, 'points validated upstream');
  if (points > hold.points) throw new Refused('exceeds_hold', `hold ${holdId} keeps ${hold.points} points, ${points} asked`);
  // Lots are chosen now, first-in-first-out, as for any redemption: the hold reserved an amount, not lots.
  return [
    redemption(state, { txId, partnerId, externalId, memberId, points, occurredAt }, cmd.context, now, holdId),
    {
      type: 'HoldCaptured',
      data: { txId, holdId, partnerId, externalId, memberId, points, releasedPoints: hold.points - points, occurredAt },
    },
  ];
}

export function release(cmd: ReleaseHold, state: MemberState, { txId, occurredAt }: OpenedTransaction, now: Date): MemberEvent[] {
  const { partnerId, externalId, memberId, holdId } = cmd.data;
  const hold = openHoldOf(state, partnerId, holdId, now);
  return [
    { type: 'HoldReleased', data: { txId, holdId, partnerId, externalId, memberId, points: hold.points, reason: 'released', occurredAt } },
  ];
}

/** A due hold lapses once; a hold already ended lapses to nothing, so two jobs racing write one event. */
export function lapse(cmd: LapseHold, state: MemberState, now: Date): MemberEvent[] {
  const { memberId, holdId } = cmd.data;
  if (state.status === 'none') throw new NotFound('member', memberId);
  const hold = state.holds.get(holdId);
  if (hold === undefined) throw new NotFound('hold', holdId);
  if (hold.status !== 'open') return [];
  if (Date.parse(hold.expiresAt) > now.getTime()) throw new Conflict('hold_not_expired', `hold ${holdId} expires at ${hold.expiresAt}`);
  return [
    {
      type: 'HoldReleased',
      data: {
        txId: null,
        holdId,
        partnerId: hold.partnerId,
        externalId: null,
        memberId,
        points: hold.points,
        reason: 'expired',
        occurredAt: hold.expiresAt,
      },
    },
  ];
}
