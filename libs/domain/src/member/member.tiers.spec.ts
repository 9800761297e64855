import { deciderSpec } from '@ledger/testing/decider-spec';
import { InvalidInput } from '../shared/errors';
import { Tier } from '../program/program';
import { AccruePoints, ReviewTier, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { AccrualReversed, MemberEvent, PointsAccrued, TierChanged } from './member.events';
import { evolveMember, initialMember } from './member.state';
import { qualifyingPointsAt } from './member.tiers';

/** Red from 0 (×1.3), silver from 100 points in a rolling year (×1.5), gold from 300 (×2). */
const TIERS: Tier[] = [
  { tierId: 'red', qualifyingPoints: 0, multiplierBps: 13_000 },
  { tierId: 'silver', qualifyingPoints: 100, multiplierBps: 15_000 },
  { tierId: 'gold', qualifyingPoints: 300, multiplierBps: 20_000 },
];
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 24, maxBackdateDays: 90 };
const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now: NOW });

const enrolled: MemberEvent = {
  type: 'MemberEnrolled',
  data: { memberId: 'm-1', cardNumber: '4111111111111111', birthDate: null, enrolledBy: null, occurredAt: '2025-01-01T00:00:00.000Z' },
};
const accrued = (externalId: string, points: number, occurredAt: string): PointsAccrued => ({
  type: 'PointsAccrued',
  data: {
    txId: `grocer:${externalId}`,
    partnerId: 'grocer',
    externalId,
    memberId: 'm-1',
    amountMinor: points * 10_000,
    currency: 'RUB',
    points,
    pointValueMinor: 10,
    lotId: `grocer:${externalId}`,
    issuerPartnerId: 'grocer',
    expiresAt: '2028-01-01T00:00:00.000Z',
    occurredAt,
  },
});
const tierChanged = (
  from: string | null,
  to: string | null,
  occurredAt: string,
  extra: Partial<TierChanged['data']> = {},
): TierChanged => ({
  type: 'TierChanged',
  data: { memberId: 'm-1', fromTierId: from, toTierId: to, reason: 'qualified', qualifyingPoints: 0, occurredAt, ...extra },
});
const accrue = (externalId: string, amountMinor: number, occurredAt = '2026-11-20T10:00:00.000Z'): AccruePoints => ({
  type: 'AccruePoints',
  data: { partnerId: 'grocer', externalId, memberId: 'm-1', amountMinor, currency: 'RUB', occurredAt },
  context: { ...CTX, earnRule: { pointsPerUnit: 1, unitMinor: 10_000 }, tiers: TIERS },
});
const review = (at: string): ReviewTier => ({ type: 'ReviewTier', data: { memberId: 'm-1', at }, context: { tiers: TIERS } });

describe('tiers: qualification on points earned in a rolling 12 months', () => {
  it('counts accruals dated in (t − 12 months, t], less reversals of them', () => {
    const reversed: AccrualReversed = {
      type: 'AccrualReversed',
      data: {
        txId: 'grocer:rev',
        partnerId: 'grocer',
        externalId: 'rev',
        memberId: 'm-1',
        originalTxId: 'grocer:b',
        lotId: 'grocer:b',
        issuerPartnerId: 'grocer',
        points: 15,
        pointValueMinor: 10,
        currency: 'RUB',
        occurredAt: '2026-06-02T00:00:00.000Z',
      },
    };
    const state = given([
      enrolled,
      accrued('a', 40, '2025-11-20T10:00:00.000Z'), // exactly 12 months before: out
      accrued('b', 50, '2026-06-01T00:00:00.000Z'),
      reversed,
      accrued('c', 60, '2026-11-20T10:00:00.000Z'), // at t: in
    ]).state();
    expect(qualifyingPointsAt(state, '2026-11-20T10:00:00.000Z')).toBe(35 + 60);
  });

  it('given a red member at 90 points, when an accrual takes the year to 100, then TierChanged to silver comes in the same append, and that accrual earns at red', () => {
    given([enrolled, accrued('a', 90, '2026-10-01T00:00:00.000Z'), tierChanged(null, 'red', '2026-10-01T00:00:00.000Z')])
      // 8 base points × 1.3 (red) = 10.4 → 10: 90 + 10 = 100 reaches silver.
      .when(accrue('b', 80_000))
      .then([
        {
          ...accrued('b', 10, '2026-11-20T10:00:00.000Z'),
          data: {
            ...accrued('b', 10, '2026-11-20T10:00:00.000Z').data,
            amountMinor: 80_000,
            expiresAt: '2028-11-20T10:00:00.000Z',
            basePoints: 8,
            multipliers: [{ source: 'tier', ref: 'red', multiplierBps: 13_000, amountMinor: 80_000 }],
          },
        },
        tierChanged('red', 'silver', '2026-11-20T10:00:00.000Z', { qualifyingPoints: 100, txId: 'grocer:b' }),
      ]);
  });

  it('given a silver member, when the next accrual is posted, then the silver multiplier applies and no tier change is written', () => {
    given([enrolled, accrued('a', 100, '2026-10-01T00:00:00.000Z'), tierChanged(null, 'silver', '2026-10-01T00:00:00.000Z')])
      .when(accrue('b', 10_000))
      .thenState((s) => {
        expect(s.tier).toBe('silver');
        expect(s.transactions.get('grocer:b')?.points).toBe(1); // 1 × 1.5 = 1.5 → 1
      });
  });

  it('given a new member, when one accrual reaches gold at once, then the change names the highest tier reached', () => {
    given([enrolled])
      .when(accrue('big', 3_000_000))
      .thenState((s) => expect(s.tier).toBe('gold'));
  });

  it('given no programme tiers, when an accrual is posted, then no tier is written', () => {
    given([enrolled])
      .when({ ...accrue('a', 3_000_000), context: { ...CTX, earnRule: { pointsPerUnit: 1, unitMinor: 10_000 } } })
      .thenState((s) => expect(s.tier).toBeNull());
  });
});

describe('tiers: anniversary review', () => {
  const goldSince = '2025-11-01T00:00:00.000Z';
  const history = (recentPoints: number): MemberEvent[] => [
    enrolled,
    accrued('a', 400, goldSince),
    tierChanged(null, 'gold', goldSince, { qualifyingPoints: 400, txId: 'grocer:a' }),
    ...(recentPoints > 0 ? [accrued('b', recentPoints, '2026-05-01T00:00:00.000Z')] : []),
  ];

  it('given a gold member with no points in the year to the anniversary, when reviewed, then it drops one tier only (to silver), dated at the anniversary', () => {
    given(history(0))
      .when(review('2026-11-20T00:00:00.000Z'))
      .then([
        {
          type: 'TierChanged',
          data: {
            memberId: 'm-1',
            fromTierId: 'gold',
            toTierId: 'silver',
            reason: 'review',
            qualifyingPoints: 0,
            occurredAt: '2026-11-01T00:00:00.000Z',
          },
        },
      ]);
  });

  it('given the drop was recorded, when reviewed again (a second run), then nothing is written', () => {
    const dropped: MemberEvent = {
      type: 'TierChanged',
      data: {
        memberId: 'm-1',
        fromTierId: 'gold',
        toTierId: 'silver',
        reason: 'review',
        qualifyingPoints: 0,
        occurredAt: '2026-11-01T00:00:00.000Z',
      },
    };
    given([...history(0), dropped])
      .when(review('2026-11-20T00:00:00.000Z'))
      .thenNothingHappened();
  });

  it('given a gold member who still qualifies at the anniversary, when reviewed, then nothing is written', () => {
    given(history(300)).when(review('2026-11-20T00:00:00.000Z')).thenNothingHappened();
  });

  it('given a member before the first anniversary, when reviewed, then nothing is written', () => {
    given(history(0)).when(review('2026-10-31T23:59:59.000Z')).thenNothingHappened();
  });

  it('when the review date is after the clock, then 400 naming at', () => {
    given(history(0)).when(review('2026-12-31T00:00:00.000Z')).thenThrows(InvalidInput);
  });
});
