import { deciderSpec } from '@ledger/testing/decider-spec';
import { Conflict, NotFound, Refused } from '../shared/errors';
import { MembershipPlan, Tier } from '../program/program';
import { AccruePoints, PurchaseMembership, ReviewTier, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { MemberEvent, MembershipPurchased, PointsAccrued, TierChanged } from './member.events';
import { evolveMember, initialMember, membershipAt } from './member.state';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now: NOW });
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 24, maxBackdateDays: 90 };
/** ×1.5 for three months, holding the member at silver. */
const PLUS: MembershipPlan = { planId: 'plus', feeMinor: 99_000, months: 3, multiplierBps: 15_000, tierFloor: 'silver' };
const TIERS: Tier[] = [
  { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
  { tierId: 'silver', qualifyingPoints: 100, multiplierBps: 10_000 },
  { tierId: 'gold', qualifyingPoints: 300, multiplierBps: 10_000 },
];

const enrolled: MemberEvent = {
  type: 'MemberEnrolled',
  data: { memberId: 'm-1', cardNumber: '4111111111111111', birthDate: null, enrolledBy: 'grocer', occurredAt: '2025-01-01T00:00:00.000Z' },
};
const purchase = (externalId: string, occurredAt: string, plan: MembershipPlan = PLUS): PurchaseMembership => ({
  type: 'PurchaseMembership',
  data: { partnerId: 'grocer', externalId, memberId: 'm-1', planId: plan.planId, occurredAt },
  context: { ...CTX, plan },
});
const purchased = (externalId: string, validFrom: string, validUntil: string): MembershipPurchased => ({
  type: 'MembershipPurchased',
  data: {
    txId: `grocer:${externalId}`,
    partnerId: 'grocer',
    externalId,
    memberId: 'm-1',
    planId: 'plus',
    feeMinor: 99_000,
    currency: 'RUB',
    validFrom,
    validUntil,
    multiplierBps: 15_000,
    tierFloor: 'silver',
    occurredAt: validFrom,
  },
});
/** 1 point per 100 RUB. */
const accrue = (externalId: string, amountMinor: number, occurredAt: string): AccruePoints => ({
  type: 'AccruePoints',
  data: { partnerId: 'cafe', externalId, memberId: 'm-1', amountMinor, currency: 'RUB', occurredAt },
  context: { ...CTX, earnRule: { pointsPerUnit: 1, unitMinor: 10_000 } },
});
const pointsOf = (events: readonly MemberEvent[]) => (events.at(-1) as PointsAccrued).data;

describe('paid membership (MembershipPurchased)', () => {
  it('given a member, when a partner sells a plan, then it is valid from the sale for the plan months, with its fee and benefit', () => {
    given([enrolled])
      .when(purchase('p-1', '2026-11-20T10:00:00.000Z'))
      .then([purchased('p-1', '2026-11-20T10:00:00.000Z', '2027-02-20T10:00:00.000Z')]);
  });

  it('given a plan sold, when the same sale is posted again, then nothing is decided; another plan date under its id is a conflict', () => {
    const sold = purchased('p-1', '2026-11-20T10:00:00.000Z', '2027-02-20T10:00:00.000Z');
    given([enrolled, sold]).when(purchase('p-1', '2026-11-20T10:00:00.000Z')).thenNothingHappened();
    given([enrolled, sold]).when(purchase('p-1', '2026-11-19T10:00:00.000Z')).thenThrows(Conflict, 'idempotency_conflict');
  });

  it('given no member, when a plan is sold, then the member is not found', () => {
    given([]).when(purchase('p-1', '2026-11-20T10:00:00.000Z')).thenThrows(NotFound, 'member_not_found');
  });

  it('given a blocked card, when a plan is sold, then it is refused with card_blocked', () => {
    const blocked: MemberEvent = {
      type: 'CardBlocked',
      data: {
        memberId: 'm-1',
        cardNumber: '4111111111111111',
        blockedBy: 'grocer',
        reason: 'stolen',
        occurredAt: '2026-11-01T00:00:00.000Z',
      },
    };
    given([enrolled, blocked]).when(purchase('p-1', '2026-11-20T10:00:00.000Z')).thenThrows(Refused, 'card_blocked');
  });
});

describe('paid membership: the plan multiplies accruals while valid, by business date', () => {
  const sold = purchased('p-1', '2026-09-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z');

  it('given a valid plan, when a 1,000 RUB accrual is dated inside it, then 10 base points ×1.5 = 15, the plan recorded as the source', () => {
    given([enrolled, sold])
      .when(accrue('a-1', 100_000, '2026-10-31T23:59:59.000Z'))
      .thenState((s) => expect(s.transactions.get('cafe:a-1')?.points).toBe(15));
    const events = decideMember(accrue('a-1', 100_000, '2026-10-31T23:59:59.000Z'), given([enrolled, sold]).state(), NOW);
    expect(pointsOf(events).basePoints).toBe(10);
    expect(pointsOf(events).multipliers).toEqual([{ source: 'plan', ref: 'plus', multiplierBps: 15_000, amountMinor: 100_000 }]);
  });

  it('given a plan that lapsed (validUntil is exclusive), when an accrual is dated at or after it, then it earns the plain rule', () => {
    const events = decideMember(accrue('a-2', 100_000, '2026-11-01T00:00:00.000Z'), given([enrolled, sold]).state(), NOW);
    expect(pointsOf(events).points).toBe(10);
    expect(pointsOf(events).multipliers).toBeUndefined();
  });

  it('given a plan sold later, when an accrual is dated before its validFrom, then it earns the plain rule', () => {
    const events = decideMember(accrue('a-3', 100_000, '2026-08-31T23:59:59.000Z'), given([enrolled, sold]).state(), NOW);
    expect(pointsOf(events).points).toBe(10);
  });

  it('given two overlapping plans, the later purchase applies within its window', () => {
    const renewed = { ...purchased('p-2', '2026-10-15T00:00:00.000Z', '2027-01-15T00:00:00.000Z') };
    renewed.data = { ...renewed.data, multiplierBps: 20_000 };
    const state = given([enrolled, sold, renewed]).state();
    expect(membershipAt(state, '2026-10-01T00:00:00.000Z')?.txId).toBe('grocer:p-1');
    expect(membershipAt(state, '2026-10-20T00:00:00.000Z')?.txId).toBe('grocer:p-2');
    expect(membershipAt(state, '2027-01-15T00:00:00.000Z')).toBeUndefined();
  });
});

describe('paid membership: tier floor at the anniversary review', () => {
  const since = '2025-11-01T00:00:00.000Z';
  const silver: TierChanged = {
    type: 'TierChanged',
    data: { memberId: 'm-1', fromTierId: null, toTierId: 'silver', reason: 'qualified', qualifyingPoints: 100, occurredAt: since },
  };
  const review: ReviewTier = { type: 'ReviewTier', data: { memberId: 'm-1', at: '2026-11-20T00:00:00.000Z' }, context: { tiers: TIERS } };

  it('given a silver member with no points in the year and a plan with floor silver valid at the anniversary, when reviewed, then it stays silver', () => {
    given([enrolled, silver, purchased('p-1', '2026-10-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z')])
      .when(review)
      .thenNothingHappened();
  });

  it('given the plan lapsed before the anniversary, when reviewed, then the member drops one tier as without it', () => {
    given([enrolled, silver, purchased('p-1', '2026-07-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z')])
      .when(review)
      .then([
        {
          type: 'TierChanged',
          data: {
            memberId: 'm-1',
            fromTierId: 'silver',
            toTierId: 'red',
            reason: 'review',
            qualifyingPoints: 0,
            occurredAt: '2026-11-01T00:00:00.000Z',
          },
        },
      ]);
  });
});
