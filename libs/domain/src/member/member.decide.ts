import { Decider } from '../shared/decider';
import { Conflict, InvalidInput, NotFound, Refused, assert, idempotencyConflict } from '../shared/errors';
import { passesLuhn } from '../shared/luhn';
import { addMonthsUtc, checkBusinessDate, toUtcIso } from '../shared/time';
import { MemberMultiplier, availableAtUnder, checkAccrualItems, earnBreakdown } from '../partner/partner';
import { lastAnniversary, qualifyingPointsAt, rankOf, tierRankFor, upgradeOnAccrual } from './member.tiers';
import { BonusAwarded, LotSlice, MemberEvent, SuspiciousActivityFlagged } from './member.events';
import {
  AccruePoints,
  AwardBonus,
  BlockCard,
  EnrolMember,
  ExpireDueLots,
  MemberCommand,
  OpenedTransaction,
  PartnerTransaction,
  PurchaseMembership,
  RedeemPoints,
  ReleasePendingPoints,
  ReplaceCard,
  ReverseTransaction,
  ReviewTier,
  TxContext,
  txIdOf,
} from './member.commands';
import { capture, hold, holdsStayCovered, lapse, liveHeld, lotsAfterTaking, openHolds, redemption, release } from './member.spending';
import {
  MemberState,
  accrualFingerprint,
  bonusFingerprint,
  membershipAt,
  membershipFingerprint,
  captureFingerprint,
  holdFingerprint,
  releaseFingerprint,
  evolveMember,
  initialMember,
  redemptionFingerprint,
  reversalFingerprint,
} from './member.state';

/**
 * A velocity limit refused the accrual (422 velocity_limit). `flag` is the event to record
 * all the same, so the attempt stays on the member's record; undefined when this very
 * attempt (same txId) was flagged before and is only refused again.
 */
export class VelocityLimitExceeded extends Refused {
  constructor(
    message: string,
    readonly flag: SuspiciousActivityFlagged | undefined,
  ) {
    super('velocity_limit', message);
  }
}

/**
 * emmett's shape, as every decider here: the facts to append, or none. A retry of a posted
 * transaction decides nothing; its answer is the transaction's record in the state.
 */
export function decideMember(command: MemberCommand, state: MemberState, now: Date): MemberEvent[] {
  if (command.type === 'EnrolMember') return enrol(command, state, now);
  if (command.type === 'LapseHold') return lapse(command, state, now);
  if (command.type === 'ReleasePendingPoints') return releasePending(command, state, now);
  if (command.type === 'BlockCard') return blockCard(command, state, now);
  if (command.type === 'ReplaceCard') return replaceCard(command, state, now);
  if (command.type === 'ExpireDueLots') return expireDueLots(command, state, now);
  if (command.type === 'ReviewTier') return reviewTier(command, state, now);
  if (command.type === 'AwardBonus') return awardBonus(command, state, now);
  if (command.type === 'PurchaseMembership') return purchaseMembership(command, state, now);
  const tx = openTransaction(command, state, now);
  if (tx === undefined) return [];
  switch (command.type) {
    case 'AccruePoints':
      return accrue(command, state, tx);
    case 'RedeemPoints':
      return redeem(command, state, tx, now);
    case 'ReverseTransaction':
      return reverse(command, state, tx, now);
    case 'PlaceHold':
      return hold(command, state, tx, now);
    case 'CaptureHold':
      return capture(command, state, tx, now);
    case 'ReleaseHold':
      return release(command, state, tx, now);
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export const memberDecider: Decider<MemberCommand, MemberEvent, MemberState> = {
  decide: decideMember,
  evolve: evolveMember,
  initialState: initialMember,
};

function enrol(command: EnrolMember, state: MemberState, now: Date): MemberEvent[] {
  const { data } = command;
  if (!passesLuhn(data.cardNumber)) throw new InvalidInput('cardNumber', 'must be 12-19 digits with a valid Luhn check digit');
  if (data.birthDate !== null) checkBirthDate(data.birthDate, now);
  if (state.status !== 'none') {
    throw new Conflict('member_exists', `member ${data.memberId} already exists`);
  }
  if (data.referredBy !== undefined && data.referredBy === data.memberId) {
    throw new InvalidInput('referredBy', 'must be another member than the one enrolled', 'self_referral');
  }
  const { referredBy, ...rest } = data;
  const occurredAt = now.toISOString();
  const enrolled: MemberEvent = {
    type: 'MemberEnrolled',
    data: { ...rest, occurredAt, ...(referredBy === undefined ? {} : { referredBy }) },
  };
  const welcome = command.context?.welcome;
  if (welcome === undefined) return [enrolled];
  // The welcome gift comes with the enrolment, in the same append: never one without the other.
  return [
    enrolled,
    bonusEvent(command.context!, {
      txId: welcomeBonusTxId(data.memberId),
      kind: 'welcome',
      partnerId: data.enrolledBy ?? OPERATOR,
      externalId: null,
      memberId: data.memberId,
      points: welcome.points,
      sponsor: welcome.sponsor,
      reason: 'welcome',
      occurredAt,
    }),
  ];
}

const OPERATOR = 'operator';

/*
 * Ids of the bonuses the ledger gives on its own: a leading `bonus_` is no partner id (those
 * have no underscore), so they never meet a partner's `partnerId:externalId`; each names the
 * member (and year, or referred member), so it is unique coalition-wide by construction.
 */
export const welcomeBonusTxId = (memberId: string) => `bonus_welcome:${memberId}`;
export const birthdayBonusTxId = (memberId: string, year: number) => `bonus_birthday:${memberId}:${year}`;
/** The referred member's own referral bonus. */
export const referralBonusTxId = (memberId: string) => `bonus_referral:${memberId}`;
/** The referrer's bonus for bringing `referredMemberId`. */
export const referrerBonusTxId = (referrerId: string, referredMemberId: string) => `bonus_referral:${referrerId}:${referredMemberId}`;

function bonusEvent(ctx: TxContext, d: AwardBonus['data']): BonusAwarded {
  const { sponsor, ...rest } = d;
  return {
    type: 'BonusAwarded',
    data: {
      ...rest,
      pointValueMinor: ctx.pointValueMinor,
      currency: ctx.coalitionCurrency,
      lotId: d.txId,
      issuerPartnerId: sponsor,
      expiresAt: addMonthsUtc(d.occurredAt, ctx.expiryMonths),
    },
  };
}

/**
 * A bonus is given once per txId: the same bonus again (a retried request, a second job run,
 * a retried referral) decides nothing; another bonus under that txId is an idempotency
 * conflict. A request's bonus (surprise, action) is refused on a blocked card, as an accrual is.
 */
function awardBonus(cmd: AwardBonus, state: MemberState, now: Date): MemberEvent[] {
  const d = cmd.data;
  if (state.status === 'none') throw new NotFound('member', d.memberId);
  const occurredAt = businessDate('occurredAt', d.occurredAt);
  assert(Number.isSafeInteger(d.points) && d.points > 0, 'bonus points validated upstream');
  const seen = state.transactions.get(d.txId);
  if (seen) {
    if (seen.fingerprint !== bonusFingerprint({ ...d, occurredAt })) throw idempotencyConflict(d.txId);
    return [];
  }
  if (d.kind === 'action' || d.kind === 'surprise') {
    checkBusinessDate('occurredAt', occurredAt, now, cmd.context.maxBackdateDays);
    if (state.cardBlocked) throw new Refused('card_blocked', `member ${d.memberId}'s card is blocked; issue a replacement card first`);
  }
  if (d.kind === 'birthday' && state.birthDate === null) {
    throw new Refused('no_birth_date', `member ${d.memberId} has no birth date on record`);
  }
  const cap = cmd.context.capPerMonth;
  if (d.kind === 'action' && cap !== undefined) {
    const month = occurredAt.slice(0, 7);
    let inMonth = 0;
    for (const tx of state.transactions.values()) {
      if (tx.bonus?.kind === 'action' && tx.bonus.reason === d.reason && tx.occurredAt.startsWith(month)) inMonth += 1;
    }
    if (inMonth >= cap) {
      throw new Refused('cap_reached', `action ${d.reason} was rewarded ${inMonth} times in ${month}, the cap is ${cap}`);
    }
  }
  return [bonusEvent(cmd.context, { ...d, occurredAt })];
}

/**
 * A plan is valid from the purchase's business date for the plan's months. The same purchase
 * again (same plan, same date) decides nothing; another under its txId is an idempotency
 * conflict. A blocked card buys nothing, as it earns nothing.
 */
function purchaseMembership(cmd: PurchaseMembership, state: MemberState, now: Date): MemberEvent[] {
  const d = cmd.data;
  const plan = cmd.context.plan;
  if (state.status === 'none') throw new NotFound('member', d.memberId);
  assert(plan.planId === d.planId, 'the handler passes the plan named');
  const occurredAt = businessDate('occurredAt', d.occurredAt);
  const txId = txIdOf(d.partnerId, d.externalId);
  const seen = state.transactions.get(txId);
  if (seen) {
    if (seen.fingerprint !== membershipFingerprint({ ...d, occurredAt })) throw idempotencyConflict(txId);
    return [];
  }
  checkBusinessDate('occurredAt', occurredAt, now, cmd.context.maxBackdateDays);
  if (state.cardBlocked) throw new Refused('card_blocked', `member ${d.memberId}'s card is blocked; issue a replacement card first`);
  return [
    {
      type: 'MembershipPurchased',
      data: {
        txId,
        partnerId: d.partnerId,
        externalId: d.externalId,
        memberId: d.memberId,
        planId: plan.planId,
        feeMinor: plan.feeMinor,
        currency: cmd.context.coalitionCurrency,
        validFrom: occurredAt,
        validUntil: addMonthsUtc(occurredAt, plan.months),
        multiplierBps: plan.multiplierBps,
        ...(plan.tierFloor === undefined ? {} : { tierFloor: plan.tierFloor }),
        occurredAt,
      },
    },
  ];
}

/** Birthday bonuses key on it: a date no living member can have is a typo or an attack. */
export const BIRTH_DATE_EARLIEST = '1900-01-01';

function checkBirthDate(birthDate: string, now: Date): void {
  // Calendar dates as YYYY-MM-DD compare as text.
  if (birthDate > now.toISOString().slice(0, 10)) throw new InvalidInput('birthDate', 'must not be in the future');
  if (birthDate < BIRTH_DATE_EARLIEST) throw new InvalidInput('birthDate', `must not be before ${BIRTH_DATE_EARLIEST}`);
}

/**
 * The opening every partner transaction shares: the member exists, the business date is a
 * date, a retry of a posted transaction (same receipt id, same payload) is recognised
 * (undefined) and another payload under that receipt id refused, then the date is checked
 * against the window. A retry is answered as before even once its date has left the window.
 */
function openTransaction(cmd: PartnerTransaction, state: MemberState, now: Date): OpenedTransaction | undefined {
  const { partnerId, externalId, memberId } = cmd.data;
  if (state.status === 'none') throw new NotFound('member', memberId);
  const occurredAt = businessDate('occurredAt', cmd.data.occurredAt);
  const txId = txIdOf(partnerId, externalId);
  const seen = state.transactions.get(txId);
  if (seen) {
    if (seen.fingerprint !== fingerprintOf(cmd, occurredAt, state)) throw idempotencyConflict(txId);
    return undefined;
  }
  checkBusinessDate('occurredAt', occurredAt, now, cmd.context.maxBackdateDays);
  // A blocked card moves no points out or in; a refund (reversal) and a release still go through.
  if (state.cardBlocked && BLOCKED_WHILE_CARD_BLOCKED.has(cmd.type)) {
    throw new Refused('card_blocked', `member ${memberId}'s card is blocked; issue a replacement card first`);
  }
  return { txId, occurredAt };
}

const BLOCKED_WHILE_CARD_BLOCKED: ReadonlySet<MemberCommand['type']> = new Set([
  'AccruePoints',
  'RedeemPoints',
  'PlaceHold',
  'CaptureHold',
]);

function blockCard({ data }: BlockCard, state: MemberState, now: Date): MemberEvent[] {
  if (state.status === 'none') throw new NotFound('member', data.memberId);
  // Only the member's current card can be blocked; a replaced card is no longer theirs.
  if (data.cardNumber !== state.cardNumber) throw new NotFound('card', data.cardNumber);
  if (state.cardBlocked) return [];
  return [{ type: 'CardBlocked', data: { ...data, occurredAt: now.toISOString() } }];
}

function replaceCard({ data }: ReplaceCard, state: MemberState, now: Date): MemberEvent[] {
  if (!passesLuhn(data.cardNumber)) throw new InvalidInput('cardNumber', 'must be 12-19 digits with a valid Luhn check digit');
  if (state.status === 'none') throw new NotFound('member', data.memberId);
  // The member already holds this card: a retried replacement records nothing.
  if (data.cardNumber === state.cardNumber) return [];
  return [
    {
      type: 'CardReplaced',
      data: { memberId: data.memberId, previousCardNumber: state.cardNumber, cardNumber: data.cardNumber, occurredAt: now.toISOString() },
    },
  ];
}

/**
 * The programme's velocity limits, by the accrual's business date: accruals in its UTC clock
 * hour, points in its UTC day (gross: a refund does not undo the signal). Fixed windows, so
 * the answer does not depend on the order backdated receipts arrive in.
 */
function checkVelocity(cmd: AccruePoints, state: MemberState, txId: string, occurredAt: string, points: number): void {
  const limits = cmd.context.limits;
  if (limits === undefined) return;
  const hour = occurredAt.slice(0, 13);
  const day = occurredAt.slice(0, 10);
  // The state keeps both windows' sums as it folds: no walk over the member's transactions.
  const accrualsInHour = 1 + (state.accrualsByHour.get(hour) ?? 0);
  const pointsInDay = points + (state.accruedPointsByDay.get(day) ?? 0);
  const over =
    accrualsInHour > limits.maxAccrualsPerMemberPerHour
      ? { rule: 'max_accruals_per_hour' as const, limit: limits.maxAccrualsPerMemberPerHour, observed: accrualsInHour, window: hour }
      : pointsInDay > limits.maxPointsPerMemberPerDay
        ? { rule: 'max_points_per_day' as const, limit: limits.maxPointsPerMemberPerDay, observed: pointsInDay, window: day }
        : undefined;
  if (over === undefined) return;
  const { partnerId, externalId, memberId, amountMinor } = cmd.data;
  const message = `accrual ${txId} would make ${over.observed} against the limit of ${over.limit} (${over.rule}, ${over.window})`;
  const flag: SuspiciousActivityFlagged | undefined = state.flaggedTxIds.has(txId)
    ? undefined
    : { type: 'SuspiciousActivityFlagged', data: { memberId, txId, partnerId, externalId, ...over, amountMinor, points, occurredAt } };
  throw new VelocityLimitExceeded(message, flag);
}

/** The request fields that make two posts "the same transaction", the business date in UTC. */
function fingerprintOf(cmd: PartnerTransaction, occurredAt: string, state: MemberState): string {
  const { memberId } = cmd.data;
  switch (cmd.type) {
    case 'AccruePoints':
      return accrualFingerprint({
        memberId,
        amountMinor: cmd.data.amountMinor,
        currency: cmd.data.currency,
        occurredAt,
        items: cmd.data.items,
      });
    case 'RedeemPoints':
      return redemptionFingerprint({ memberId, points: cmd.data.points, occurredAt });
    case 'ReverseTransaction':
      // Without `points` a reversal takes what remained: the amount it was first posted with.
      return reversalFingerprint({
        memberId,
        originalTxId: originalTxIdOf(cmd),
        points: cmd.data.points ?? state.transactions.get(txIdOf(cmd.data.partnerId, cmd.data.externalId))?.points ?? -1,
        occurredAt,
      });
    case 'PlaceHold':
      return holdFingerprint({ memberId, points: cmd.data.points, ttlSeconds: cmd.data.ttlSeconds, occurredAt });
    case 'CaptureHold': {
      const { holdId, points } = cmd.data;
      return captureFingerprint({ memberId, holdId, points: points ?? state.holds.get(holdId)?.points ?? -1, occurredAt });
    }
    case 'ReleaseHold':
      return releaseFingerprint({ memberId, holdId: cmd.data.holdId });
  }
}

/** A partner reverses only its own transactions, so the original's txId is scoped to it. */
const originalTxIdOf = (cmd: ReverseTransaction) => txIdOf(cmd.data.partnerId, cmd.data.originalExternalId);

/** A business date as a UTC instant; a string that is no date at all is refused here. */
function businessDate(field: string, iso: string): string {
  if (Number.isNaN(Date.parse(iso))) throw new InvalidInput(field, 'must be an ISO 8601 date-time');
  return toUtcIso(iso);
}

/** The member's paid plan valid at the accrual's business date: it lapses by date, with no request. */
function planMultiplierAt(state: MemberState, at: string): MemberMultiplier | undefined {
  const held = membershipAt(state, at);
  return held === undefined ? undefined : { id: held.planId, multiplierBps: held.multiplierBps };
}

function accrue(cmd: AccruePoints, state: MemberState, { txId, occurredAt }: OpenedTransaction): MemberEvent[] {
  const { partnerId, externalId, memberId, amountMinor, currency } = cmd.data;
  const ctx = cmd.context;
  if (currency !== ctx.coalitionCurrency) {
    throw new InvalidInput('currency', `must be ${ctx.coalitionCurrency}, the coalition currency`, 'currency_mismatch');
  }
  const items = cmd.data.items;
  if (items !== undefined) checkAccrualItems(items, amountMinor);
  // The tier held before this accrual multiplies it: a crossing accrual earns at the old tier, the next at the new.
  const tier = ctx.tiers?.[rankOf(ctx.tiers, state.tier)];
  const earned = earnBreakdown({
    amountMinor,
    items,
    occurredAt,
    rule: ctx.earnRule,
    plan: ctx.plan ?? planMultiplierAt(state, occurredAt),
    tier: tier === undefined ? undefined : { id: tier.tierId, multiplierBps: tier.multiplierBps },
  });
  const points = earned.points;
  checkVelocity(cmd, state, txId, occurredAt, points);
  const expiresAt = addMonthsUtc(occurredAt, ctx.expiryMonths);
  const availableAt = points > 0 ? availableAtUnder(ctx.earnRule, occurredAt) : null;
  const upgrade = upgradeOnAccrual(state, ctx.tiers, { txId, points, occurredAt });
  // A referred member's first purchase brings the referral bonus, in the same append (the
  // referrer's own bonus is the handler's second append, on the referrer's stream). It goes
  // first so the accrual stays the append's last event, whose position the answer carries.
  const referral: MemberEvent[] =
    state.referredBy !== null && state.purchases === 0 && ctx.referral !== undefined
      ? [
          bonusEvent(ctx, {
            txId: referralBonusTxId(memberId),
            kind: 'referral',
            partnerId: OPERATOR,
            externalId: null,
            memberId,
            points: ctx.referral.points,
            sponsor: ctx.referral.sponsor,
            reason: state.referredBy,
            occurredAt,
          }),
        ]
      : [];
  return [
    ...referral,
    {
      type: 'PointsAccrued',
      data: {
        txId,
        partnerId,
        externalId,
        memberId,
        amountMinor,
        currency,
        points,
        pointValueMinor: ctx.pointValueMinor,
        lotId: txId,
        issuerPartnerId: partnerId,
        expiresAt,
        // A window reaching past the expiry ends with it: such a lot is never spendable and expires whole.
        ...(availableAt === null ? {} : { availableAt: availableAt < expiresAt ? availableAt : expiresAt }),
        ...(items === undefined ? {} : { items: items.map(({ sku, category, amountMinor: a }) => ({ sku, category, amountMinor: a })) }),
        // Recorded only when something multiplied: an accrual under the plain rule reads as it always did.
        ...(earned.multipliers.length === 0 ? {} : { basePoints: earned.basePoints, multipliers: earned.multipliers }),
        occurredAt,
      },
    },
    ...(upgrade === undefined ? [] : [upgrade]),
  ];
}

/**
 * Reviewed as of the latest anniversary at or before `at`: the decision depends on that date
 * only, so a second run (or two racing) finds the same answer and, once a drop is recorded,
 * the next anniversary a year later: one event. A member keeping the tier records nothing.
 */
function reviewTier(cmd: ReviewTier, state: MemberState, now: Date): MemberEvent[] {
  const { memberId } = cmd.data;
  if (state.status === 'none') throw new NotFound('member', memberId);
  const at = businessDate('at', cmd.data.at);
  if (Date.parse(at) > now.getTime()) throw new InvalidInput('at', 'must not be after the present time');
  if (state.tier === null || state.tierSince === null) return [];
  const anniversary = lastAnniversary(state.tierSince, at);
  if (anniversary === undefined) return [];
  const tiers = cmd.context.tiers;
  const current = rankOf(tiers, state.tier);
  const qualifying = qualifyingPointsAt(state, anniversary);
  const reached = tierRankFor(tiers, qualifying);
  // A tier the programme no longer has (current = -1) is left to the next upgrade.
  if (current < 0 || reached >= current) return [];
  // A paid plan valid at the anniversary holds the member at its tier floor: never reviewed below it.
  const floor = membershipAt(state, anniversary)?.tierFloor;
  if (floor !== undefined && rankOf(tiers, floor) >= current) return [];
  const to = current - 1 >= 0 ? tiers[current - 1].tierId : null;
  return [
    {
      type: 'TierChanged',
      data: { memberId, fromTierId: state.tier, toTierId: to, reason: 'review', qualifyingPoints: qualifying, occurredAt: anniversary },
    },
  ];
}

function redeem(cmd: RedeemPoints, state: MemberState, { txId, occurredAt }: OpenedTransaction, now: Date): MemberEvent[] {
  const { partnerId, externalId, memberId, points } = cmd.data;
  assert(Number.isSafeInteger(points) && points > 0, 'points validated upstream');
  return [redemption(state, { txId, partnerId, externalId, memberId, points, occurredAt }, cmd.context, now)];
}

function reverse(cmd: ReverseTransaction, state: MemberState, { txId, occurredAt }: OpenedTransaction, now: Date): MemberEvent[] {
  const { partnerId, externalId, memberId } = cmd.data;
  const originalTxId = originalTxIdOf(cmd);
  const original = state.transactions.get(originalTxId);
  if (!original || (original.kind !== 'accrual' && original.kind !== 'redemption' && original.kind !== 'hold_capture')) {
    throw new NotFound('transaction', originalTxId);
  }
  const remaining = original.points - (state.reversedPoints.get(originalTxId) ?? 0);
  // (A zero-point accrual is reversed once, for zero.)
  if (state.reversedTxIds.has(originalTxId) || (remaining === 0 && original.points > 0)) {
    throw new Conflict('already_reversed', `transaction ${originalTxId} is already reversed`);
  }
  const partial = cmd.data.points !== undefined;
  const points = cmd.data.points ?? remaining;
  assert(Number.isSafeInteger(points) && points >= 0, 'points validated upstream');
  if (points > remaining) {
    throw new Refused('over_reversal', `only ${remaining} of the ${original.points} points of ${originalTxId} remain to be reversed`, [
      { field: 'points', reason: `at most ${remaining} remain to be reversed` },
    ]);
  }
  const common = { txId, partnerId, externalId, memberId, originalTxId, currency: cmd.context.coalitionCurrency, occurredAt };
  // A captured hold was a redemption at the holding partner, and is cancelled as one.
  if (original.kind === 'redemption' || original.kind === 'hold_capture') {
    const slices = slicesToReturn(original.slices, state.returnedSlices.get(originalTxId) ?? [], points, partial);
    const reversed: MemberEvent = {
      type: 'RedemptionReversed',
      data: { ...common, originalOccurredAt: original.occurredAt, points, pointValueMinor: original.pointValueMinor, slices },
    };
    if (!partial) return [reversed];
    // A slice going back to a lot that expired meanwhile lapses at once: it was never to be spent again.
    const lapsed: MemberEvent[] = [];
    for (const s of slices) {
      const info = state.lotIndex.get(s.lotId);
      assert(info !== undefined, 'a returned slice names a lot that existed');
      if (Date.parse(info.expiresAt) > Date.parse(occurredAt)) continue;
      lapsed.push({
        type: 'PointsExpired',
        data: {
          memberId,
          lotId: s.lotId,
          issuerPartnerId: s.issuerPartnerId,
          points: s.points,
          pointValueMinor: state.transactions.get(s.lotId)?.pointValueMinor ?? original.pointValueMinor,
          currency: cmd.context.coalitionCurrency,
          occurredAt: info.expiresAt,
          txId,
        },
      });
    }
    return [reversed, ...lapsed];
  }
  const lot = state.lots.find((l) => l.lotId === originalTxId);
  const unspent = lot?.points ?? 0;
  // Default policy: the balance never goes negative, so spent points cannot be taken back.
  if (unspent < points) {
    throw new Refused(
      'points_already_spent',
      `only ${unspent} of the ${original.points} points of ${originalTxId} are unspent; reverse the redemption first`,
    );
  }
  // Nor may a refund take back points a live hold is keeping for a checkout, now or before it
  // lapses. A lot still pending (or expired) backs no hold: reversing it cancels it outright.
  const after = lotsAfterTaking(state.lots, [{ lotId: originalTxId, issuerPartnerId: partnerId, points }]);
  if (!holdsStayCovered(after, openHolds(state), now)) {
    const heldNow = liveHeld(state, now);
    throw new Refused('points_held', `${heldNow} of the member's points are on hold; release or capture the hold first`);
  }
  return [
    {
      type: 'AccrualReversed',
      data: {
        ...common,
        lotId: originalTxId,
        issuerPartnerId: partnerId,
        points,
        pointValueMinor: original.pointValueMinor,
      },
    },
  ];
}

/**
 * A pending lot past its availableAt is released once; a lot already released (or never
 * pending) releases nothing, so two jobs racing write one event. A lot cancelled in full by
 * reversals, or whose window reached its expiry (never spendable: it expires whole), releases
 * nothing either.
 */
function releasePending(cmd: ReleasePendingPoints, state: MemberState, now: Date): MemberEvent[] {
  const { memberId, lotId } = cmd.data;
  if (state.status === 'none') throw new NotFound('member', memberId);
  const info = state.lotIndex.get(lotId);
  if (info === undefined) throw new NotFound('lot', lotId);
  if (info.availableAt === undefined) return [];
  if (Date.parse(info.availableAt) > now.getTime()) throw new Conflict('lot_not_due', `lot ${lotId} is pending until ${info.availableAt}`);
  if (Date.parse(info.availableAt) >= Date.parse(info.expiresAt)) return [];
  const points = info.pointsIssued - (state.reversedPoints.get(lotId) ?? 0);
  if (points === 0) return [];
  return [
    { type: 'PointsReleased', data: { memberId, lotId, issuerPartnerId: info.issuerPartnerId, points, occurredAt: info.availableAt } },
  ];
}

/**
 * Lots past their expiry lapse once, oldest expiry first: a lot already empty (spent, refunded
 * or expired) decides nothing, so two jobs racing over the same lots write one event each.
 */
function expireDueLots(cmd: ExpireDueLots, state: MemberState, now: Date): MemberEvent[] {
  const { memberId } = cmd.data;
  if (state.status === 'none') throw new NotFound('member', memberId);
  const until = Date.parse(cmd.data.until);
  if (Number.isNaN(until)) throw new InvalidInput('until', 'must be an ISO 8601 date-time');
  // Lapsing a lot early would take points the member may still spend.
  if (until > now.getTime()) throw new InvalidInput('until', 'must not be after the present time');
  const due = state.lots
    .filter((lot) => Date.parse(lot.expiresAt) <= until)
    .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt) || a.seq - b.seq);
  return due.map((lot) => ({
    type: 'PointsExpired',
    data: {
      memberId,
      lotId: lot.lotId,
      issuerPartnerId: lot.issuerPartnerId,
      points: lot.points,
      pointValueMinor: issuedValueOf(state, lot.lotId),
      currency: cmd.context.coalitionCurrency,
      occurredAt: lot.expiresAt,
    },
  }));
}

/** Breakage is valued as the lot was issued: the accrual's txId is the lot's id. */
function issuedValueOf(state: MemberState, lotId: string): number {
  const accrual = state.transactions.get(lotId);
  assert(accrual !== undefined && (accrual.kind === 'accrual' || accrual.kind === 'bonus'), 'a lot is opened by its accrual or bonus');
  return accrual.pointValueMinor;
}

/**
 * The slices a redemption reversal gives back: of what the redemption took and no earlier
 * reversal returned. A part goes back newest lot first (the last slice taken), so the member
 * keeps the points that would lapse soonest spent; the rest goes back in the original order.
 */
function slicesToReturn(taken: readonly LotSlice[], returned: readonly LotSlice[], points: number, partial: boolean): LotSlice[] {
  const back = new Map<string, number>();
  for (const s of returned) back.set(s.lotId, (back.get(s.lotId) ?? 0) + s.points);
  const open = taken
    .map((s) => {
      const already = Math.min(back.get(s.lotId) ?? 0, s.points);
      back.set(s.lotId, (back.get(s.lotId) ?? 0) - already);
      return { ...s, points: s.points - already };
    })
    .filter((s) => s.points > 0);
  const order = partial ? [...open].reverse() : open;
  const slices: LotSlice[] = [];
  let left = points;
  for (const s of order) {
    if (left === 0) break;
    const take = Math.min(left, s.points);
    slices.push({ ...s, points: take });
    left -= take;
  }
  assert(left === 0, 'the slices still out cover the points reversed (caller checked the remainder)');
  return slices;
}
