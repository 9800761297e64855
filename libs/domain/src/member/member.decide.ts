import { Decider } from '../shared/decider';
import { Conflict, InvalidInput, NotFound, Refused, assert, idempotencyConflict } from '../shared/errors';
import { passesLuhn } from '../shared/luhn';
import { addMonthsUtc, checkBusinessDate, toUtcIso } from '../shared/time';
import { EarnRule, pointsEarned } from '../partner/partner';
import { LotSlice, MemberEvent } from './member.events';
import {
  Lot,
  MemberState,
  accrualFingerprint,
  evolveMember,
  initialMember,
  redemptionFingerprint,
  reversalFingerprint,
} from './member.state';

/** Coalition rules a member transaction is decided under; the handler reads them from their streams. */
export interface TxContext {
  coalitionCurrency: string;
  pointValueMinor: number;
  expiryMonths: number;
  maxBackdateDays: number;
}

export type EnrolMember = {
  type: 'EnrolMember';
  data: { memberId: string; cardNumber: string; birthDate: string | null; enrolledBy: string | null };
};
export type AccruePoints = {
  type: 'AccruePoints';
  data: { partnerId: string; externalId: string; memberId: string; amountMinor: number; currency: string; occurredAt: string };
  context: TxContext & { earnRule: EarnRule };
};
export type RedeemPoints = {
  type: 'RedeemPoints';
  data: { partnerId: string; externalId: string; memberId: string; points: number; occurredAt: string };
  context: TxContext;
};
export type ReverseTransaction = {
  type: 'ReverseTransaction';
  data: { partnerId: string; externalId: string; memberId: string; originalExternalId: string; occurredAt: string };
  context: TxContext;
};
export type MemberCommand = EnrolMember | AccruePoints | RedeemPoints | ReverseTransaction;

export const txIdOf = (partnerId: string, externalId: string) => `${partnerId}:${externalId}`;

/** A transaction a partner posts: it has a receipt id, a business date and a member. */
type PartnerTransaction = AccruePoints | RedeemPoints | ReverseTransaction;

/**
 * emmett's shape, as every decider here: the facts to append, or none. A retry of a posted
 * transaction decides nothing; its answer is the transaction's record in the state.
 */
export function decideMember(command: MemberCommand, state: MemberState, now: Date): MemberEvent[] {
  if (command.type === 'EnrolMember') return enrol(command, state, now);
  const tx = openTransaction(command, state, now);
  if (tx === undefined) return [];
  switch (command.type) {
    case 'AccruePoints':
      return accrue(command, tx);
    case 'RedeemPoints':
      return redeem(command, state, tx);
    case 'ReverseTransaction':
      return reverse(command, state, tx);
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

function enrol({ data }: EnrolMember, state: MemberState, now: Date): MemberEvent[] {
  if (!passesLuhn(data.cardNumber)) throw new InvalidInput('cardNumber', 'must be 12-19 digits with a valid Luhn check digit');
  if (state.status !== 'none') {
    throw new Conflict('member_exists', `member ${data.memberId} already exists`);
  }
  return [{ type: 'MemberEnrolled', data: { ...data, occurredAt: now.toISOString() } }];
}

/** A new transaction's id and business date (UTC), as the shared opening checks found them. */
interface OpenedTransaction {
  txId: string;
  occurredAt: string;
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
    if (seen.fingerprint !== fingerprintOf(cmd, occurredAt)) throw idempotencyConflict(txId);
    return undefined;
  }
  checkBusinessDate('occurredAt', occurredAt, now, cmd.context.maxBackdateDays);
  return { txId, occurredAt };
}

/** The request fields that make two posts "the same transaction", the business date in UTC. */
function fingerprintOf(cmd: PartnerTransaction, occurredAt: string): string {
  const { memberId } = cmd.data;
  switch (cmd.type) {
    case 'AccruePoints':
      return accrualFingerprint({ memberId, amountMinor: cmd.data.amountMinor, currency: cmd.data.currency, occurredAt });
    case 'RedeemPoints':
      return redemptionFingerprint({ memberId, points: cmd.data.points, occurredAt });
    case 'ReverseTransaction':
      return reversalFingerprint({ memberId, originalTxId: originalTxIdOf(cmd), occurredAt });
  }
}

/** A partner reverses only its own transactions, so the original's txId is scoped to it. */
const originalTxIdOf = (cmd: ReverseTransaction) => txIdOf(cmd.data.partnerId, cmd.data.originalExternalId);

/** A business date as a UTC instant; a string that is no date at all is refused here. */
function businessDate(field: string, iso: string): string {
  if (Number.isNaN(Date.parse(iso))) throw new InvalidInput(field, 'must be an ISO 8601 date-time');
  return toUtcIso(iso);
}

function accrue(cmd: AccruePoints, { txId, occurredAt }: OpenedTransaction): MemberEvent[] {
  const { partnerId, externalId, memberId, amountMinor, currency } = cmd.data;
  const ctx = cmd.context;
  if (currency !== ctx.coalitionCurrency) {
    throw new InvalidInput('currency', `must be ${ctx.coalitionCurrency}, the coalition currency`);
  }
  const points = pointsEarned(amountMinor, ctx.earnRule);
  return [
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
        expiresAt: addMonthsUtc(occurredAt, ctx.expiryMonths),
        occurredAt,
      },
    },
  ];
}

/** Points a member can spend at a moment: lots not yet expired then. */
const spendableLots = (lots: readonly Lot[], at: string): Lot[] => {
  const t = Date.parse(at);
  return lots.filter((lot) => Date.parse(lot.expiresAt) > t);
};

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

function redeem(cmd: RedeemPoints, state: MemberState, { txId, occurredAt }: OpenedTransaction): MemberEvent[] {
  const { partnerId, externalId, memberId, points } = cmd.data;
  assert(Number.isSafeInteger(points) && points > 0, 'points validated upstream');
  const spendable = spendableLots(state.lots, occurredAt);
  const spendablePoints = spendable.reduce((sum, lot) => sum + lot.points, 0);
  if (spendablePoints < points) {
    throw new Refused('insufficient_points', `member ${memberId} has ${spendablePoints} points available, ${points} asked`);
  }
  return [
    {
      type: 'PointsRedeemed',
      data: {
        txId,
        partnerId,
        externalId,
        memberId,
        points,
        pointValueMinor: cmd.context.pointValueMinor,
        currency: cmd.context.coalitionCurrency,
        slices: allocateFifo(spendable, points),
        occurredAt,
      },
    },
  ];
}

function reverse(cmd: ReverseTransaction, state: MemberState, { txId, occurredAt }: OpenedTransaction): MemberEvent[] {
  const { partnerId, externalId, memberId } = cmd.data;
  const originalTxId = originalTxIdOf(cmd);
  const original = state.transactions.get(originalTxId);
  if (!original || (original.kind !== 'accrual' && original.kind !== 'redemption')) {
    throw new NotFound('transaction', originalTxId);
  }
  if (state.reversedTxIds.has(originalTxId)) {
    throw new Conflict('already_reversed', `transaction ${originalTxId} is already reversed`);
  }
  const common = { txId, partnerId, externalId, memberId, originalTxId, currency: cmd.context.coalitionCurrency, occurredAt };
  if (original.kind === 'redemption') {
    return [
      {
        type: 'RedemptionReversed',
        data: {
          ...common,
          originalOccurredAt: original.occurredAt,
          points: original.points,
          pointValueMinor: original.pointValueMinor,
          slices: original.slices,
        },
      },
    ];
  }
  const lot = state.lots.find((l) => l.lotId === originalTxId);
  const unspent = lot?.points ?? 0;
  // Default policy: the balance never goes negative, so spent points cannot be taken back.
  if (unspent < original.points) {
    throw new Refused(
      'points_already_spent',
      `only ${unspent} of the ${original.points} points of ${originalTxId} are unspent; reverse the redemption first`,
    );
  }
  return [
    {
      type: 'AccrualReversed',
      data: {
        ...common,
        lotId: originalTxId,
        issuerPartnerId: partnerId,
        points: original.points,
        pointValueMinor: original.pointValueMinor,
      },
    },
  ];
}
