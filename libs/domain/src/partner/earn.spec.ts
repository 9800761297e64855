import { deciderSpec } from '@ledger/testing/decider-spec';
import { InvalidInput, Conflict } from '../shared/errors';
import { AccruePoints, TxContext } from '../member/member.commands';
import { decideMember } from '../member/member.decide';
import { MemberEvent, PointsAccrued } from '../member/member.events';
import { evolveMember, initialMember } from '../member/member.state';
import { EarnRule, earnBreakdown } from './earn';
import { decidePartner, initialPartner } from './partner';

/** 1 point per 100 RUB; groceries ×1.25; receipts from 5,000 RUB ×1.1; a grocery week ×1.5. */
const RULE: EarnRule = {
  pointsPerUnit: 1,
  unitMinor: 10_000,
  categories: { grocery: 12_500, alcohol: 10_000 },
  thresholds: [
    { fromMinor: 100_000, multiplierBps: 10_500 },
    { fromMinor: 500_000, multiplierBps: 11_000 },
  ],
  campaigns: [
    {
      campaignId: 'grocery-week',
      from: '2026-11-16T00:00:00.000Z',
      to: '2026-11-23T00:00:00.000Z',
      multiplierBps: 15_000,
      categories: ['grocery'],
    },
  ],
};
const IN_CAMPAIGN = '2026-11-18T12:00:00.000Z';
const BEFORE_CAMPAIGN = '2026-11-10T12:00:00.000Z';

describe('earn rules: earnBreakdown', () => {
  it('given no multiplier, when a receipt is posted, then it earns the whole units of its total (partial units earn nothing)', () => {
    const b = earnBreakdown({ amountMinor: 25_999, occurredAt: BEFORE_CAMPAIGN, rule: { pointsPerUnit: 3, unitMinor: 10_000 } });
    expect(b).toEqual({ basePoints: 6, points: 6, multipliers: [] });
  });

  it('given a category multiplier, when items are posted, then it multiplies only the items of that category', () => {
    // 600 RUB grocery ×1.25 and 400 RUB other ×1: base 10 shared 6 : 4 → 6×1.25 + 4 = 11.5 → 11 (×1.05 threshold at 1,000 RUB → 12.075 → 12).
    const b = earnBreakdown({
      amountMinor: 100_000,
      items: [
        { sku: 'milk', category: 'grocery', amountMinor: 60_000 },
        { sku: 'pan', category: 'kitchen', amountMinor: 40_000 },
      ],
      occurredAt: BEFORE_CAMPAIGN,
      rule: RULE,
    });
    expect(b.basePoints).toBe(10);
    expect(b.points).toBe(12);
    expect(b.multipliers).toEqual([
      { source: 'category', ref: 'grocery', multiplierBps: 12_500, amountMinor: 60_000 },
      { source: 'threshold', ref: '100000', multiplierBps: 10_500, amountMinor: 100_000 },
    ]);
  });

  it('given a progressive scale, when the total reaches a step, then only the highest step reached applies', () => {
    const below = earnBreakdown({ amountMinor: 99_999, occurredAt: BEFORE_CAMPAIGN, rule: RULE });
    const first = earnBreakdown({ amountMinor: 200_000, occurredAt: BEFORE_CAMPAIGN, rule: RULE });
    const second = earnBreakdown({ amountMinor: 700_000, occurredAt: BEFORE_CAMPAIGN, rule: RULE });
    expect(below.multipliers).toEqual([]);
    expect(first.points).toBe(21); // 20 × 1.05
    expect(second.points).toBe(77); // 70 × 1.1, not × 1.05 × 1.1
    expect(second.multipliers.map((m) => m.ref)).toEqual(['500000']);
  });

  it('given a campaign, when the business date is inside [from, to), then it applies to its categories; at `to` it no longer does', () => {
    const items = [{ sku: 'bread', category: 'grocery', amountMinor: 80_000 }];
    expect(earnBreakdown({ amountMinor: 80_000, items, occurredAt: IN_CAMPAIGN, rule: RULE }).points).toBe(15); // 8 × 1.25 × 1.5
    expect(earnBreakdown({ amountMinor: 80_000, items, occurredAt: '2026-11-23T00:00:00.000Z', rule: RULE }).points).toBe(10);
    // A receipt without items has no category: a campaign on groceries does not reach it.
    expect(earnBreakdown({ amountMinor: 80_000, occurredAt: IN_CAMPAIGN, rule: RULE }).points).toBe(8);
  });

  it('given every multiplier, when a Gold member buys 6,000 RUB of groceries in the campaign week, then points are rounded down once after all (the README example)', () => {
    const b = earnBreakdown({
      amountMinor: 600_000,
      items: [{ sku: 'basket', category: 'grocery', amountMinor: 600_000 }],
      occurredAt: IN_CAMPAIGN,
      rule: RULE,
      tier: { id: 'gold', multiplierBps: 20_000 },
    });
    // 60 × 1.25 × 1.5 × 1.1 × 2 = 247.5 → 247 (rounding at each step would give 246).
    expect(b).toEqual({
      basePoints: 60,
      points: 247,
      multipliers: [
        { source: 'category', ref: 'grocery', multiplierBps: 12_500, amountMinor: 600_000 },
        { source: 'campaign', ref: 'grocery-week', multiplierBps: 15_000, amountMinor: 600_000 },
        { source: 'threshold', ref: '500000', multiplierBps: 11_000, amountMinor: 600_000 },
        { source: 'tier', ref: 'gold', multiplierBps: 20_000, amountMinor: 600_000 },
      ],
    });
  });

  it('given a plan multiplier, when passed in, then it multiplies the receipt and is named as the plan', () => {
    const b = earnBreakdown({
      amountMinor: 50_000,
      occurredAt: BEFORE_CAMPAIGN,
      rule: { pointsPerUnit: 2, unitMinor: 10_000 },
      plan: { id: 'plus', multiplierBps: 13_000 },
    });
    expect(b).toEqual({
      basePoints: 10,
      points: 13,
      multipliers: [{ source: 'plan', ref: 'plus', multiplierBps: 13_000, amountMinor: 50_000 }],
    });
  });
});

describe('earn rules: the partner decider refuses bad rules, naming the field', () => {
  const join = (earnRule: EarnRule) => () =>
    decidePartner(
      {
        type: 'JoinPartner',
        data: {
          partnerId: 'grocer',
          name: 'Grocer',
          earnRule,
          issuanceFeeBps: 0,
          breakageShareBps: 0,
          effectiveFrom: '2026-01-01T00:00:00.000Z',
        },
      },
      initialPartner(),
    );
  const fieldOf = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      if (e instanceof InvalidInput) return e.details[0]?.field;
      throw e;
    }
    return undefined;
  };
  const base = { pointsPerUnit: 1, unitMinor: 10_000 };

  it('when thresholds are out of order, then 400 on the step', () => {
    expect(
      fieldOf(
        join({
          ...base,
          thresholds: [
            { fromMinor: 500, multiplierBps: 11_000 },
            { fromMinor: 500, multiplierBps: 12_000 },
          ],
        }),
      ),
    ).toBe('earnRule.thresholds.1.fromMinor');
  });

  it('when a multiplier is zero or negative, then 400 on it', () => {
    expect(fieldOf(join({ ...base, categories: { grocery: 0 } }))).toBe('earnRule.categories.grocery');
    expect(fieldOf(join({ ...base, thresholds: [{ fromMinor: 1, multiplierBps: -5 }] }))).toBe('earnRule.thresholds.0.multiplierBps');
    const campaign = { campaignId: 'c', from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z', multiplierBps: 0 };
    expect(fieldOf(join({ ...base, campaigns: [campaign] }))).toBe('earnRule.campaigns.0.multiplierBps');
  });

  it('when two campaigns overlap on one category, then 400 on the later one; on different categories, or back to back, they are accepted', () => {
    const a = { campaignId: 'a', from: '2026-01-01T00:00:00Z', to: '2026-01-08T00:00:00Z', multiplierBps: 15_000, categories: ['grocery'] };
    const overlapping = {
      campaignId: 'b',
      from: '2026-01-07T00:00:00Z',
      to: '2026-01-14T00:00:00Z',
      multiplierBps: 20_000,
      categories: ['dairy', 'grocery'],
    };
    const everything = { campaignId: 'c', from: '2026-01-05T00:00:00Z', to: '2026-01-06T00:00:00Z', multiplierBps: 20_000 };
    expect(fieldOf(join({ ...base, campaigns: [a, overlapping] }))).toBe('earnRule.campaigns.1');
    expect(fieldOf(join({ ...base, campaigns: [a, everything] }))).toBe('earnRule.campaigns.1');
    expect(fieldOf(join({ ...base, campaigns: [a, { ...overlapping, categories: ['dairy'] }] }))).toBeUndefined();
    expect(fieldOf(join({ ...base, campaigns: [a, { ...overlapping, from: '2026-01-08T00:00:00Z' }] }))).toBeUndefined();
  });

  it('when a campaign ends before it starts, then 400 on `to`', () => {
    const c = { campaignId: 'c', from: '2026-01-08T00:00:00Z', to: '2026-01-08T00:00:00Z', multiplierBps: 15_000 };
    expect(fieldOf(join({ ...base, campaigns: [c] }))).toBe('earnRule.campaigns.0.to');
  });

  it('when the rule is good, then its dates are recorded in UTC and a plain rule stays plain', () => {
    const [joined] = join({
      ...base,
      campaigns: [{ campaignId: 'c', from: '2026-01-08T03:00:00+03:00', to: '2026-01-09T00:00:00Z', multiplierBps: 15_000 }],
    })();
    expect(joined.type === 'PartnerJoined' && joined.data.earnRule.campaigns?.[0].from).toBe('2026-01-08T00:00:00.000Z');
    const [plain] = join(base)();
    expect(plain.type === 'PartnerJoined' && plain.data.earnRule).toEqual(base);
  });
});

describe('earn rules: accruals with items (member decider)', () => {
  const NOW = new Date('2026-11-20T12:00:00.000Z');
  const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
  const given = deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now: NOW });
  const enrolled: MemberEvent = {
    type: 'MemberEnrolled',
    data: { memberId: 'm-1', cardNumber: '4111111111111111', birthDate: null, enrolledBy: null, occurredAt: '2026-01-01T00:00:00.000Z' },
  };
  const items = [
    { sku: 'milk', category: 'grocery', amountMinor: 60_000 },
    { sku: 'wine', category: 'alcohol', amountMinor: 40_000 },
  ];
  const accrue = (over: Partial<AccruePoints['data']> = {}): AccruePoints => ({
    type: 'AccruePoints',
    data: {
      partnerId: 'grocer',
      externalId: 'r-1',
      memberId: 'm-1',
      amountMinor: 100_000,
      currency: 'RUB',
      occurredAt: IN_CAMPAIGN,
      items,
      ...over,
    },
    context: { ...CTX, earnRule: RULE },
  });
  const accrued = (): PointsAccrued => ({
    type: 'PointsAccrued',
    data: {
      txId: 'grocer:r-1',
      partnerId: 'grocer',
      externalId: 'r-1',
      memberId: 'm-1',
      amountMinor: 100_000,
      currency: 'RUB',
      // base 10: groceries 6 × 1.25 × 1.5 + alcohol 4 × 1 (×1, no campaign) = 15.25, × 1.05 = 16.0125 → 16
      points: 16,
      pointValueMinor: 10,
      lotId: 'grocer:r-1',
      issuerPartnerId: 'grocer',
      expiresAt: '2027-11-18T12:00:00.000Z',
      items,
      basePoints: 10,
      multipliers: [
        { source: 'category', ref: 'grocery', multiplierBps: 12_500, amountMinor: 60_000 },
        { source: 'campaign', ref: 'grocery-week', multiplierBps: 15_000, amountMinor: 60_000 },
        { source: 'category', ref: 'alcohol', multiplierBps: 10_000, amountMinor: 40_000 },
        { source: 'threshold', ref: '100000', multiplierBps: 10_500, amountMinor: 100_000 },
      ],
      occurredAt: IN_CAMPAIGN,
    },
  });

  it('given a member, when a receipt with items is posted, then the accrual records its items, base points and each multiplier with its source', () => {
    given([enrolled]).when(accrue()).then([accrued()]);
  });

  it('given a member, when the item amounts do not add up to amountMinor, then 400 naming items', () => {
    given([enrolled])
      .when(accrue({ amountMinor: 100_001 }))
      .thenThrows((e) => e instanceof InvalidInput && e.details[0]?.field === 'items');
  });

  it('given the accrual was posted, when the same receipt id comes with the same items, then nothing is written; with other items, 409', () => {
    given([enrolled, accrued()]).when(accrue()).thenNothingHappened();
    given([enrolled, accrued()])
      .when(accrue({ items: [{ sku: 'milk', category: 'grocery', amountMinor: 100_000 }] }))
      .thenThrows(Conflict, 'idempotency_conflict');
  });

  it('given a rule without multipliers, when a receipt without items is posted, then the accrual reads as before (no breakdown fields)', () => {
    given([enrolled])
      .when({ ...accrue({ items: undefined }), context: { ...CTX, earnRule: { pointsPerUnit: 1, unitMinor: 10_000 } } })
      .thenState((s) => expect(s.transactions.get('grocer:r-1')?.points).toBe(10));
    const [event] = decideMember(
      { ...accrue({ items: undefined }), context: { ...CTX, earnRule: { pointsPerUnit: 1, unitMinor: 10_000 } } },
      given([enrolled]).state(),
      NOW,
    );
    expect(Object.keys(event.data)).not.toEqual(expect.arrayContaining(['basePoints']));
    expect(Object.keys(event.data)).not.toEqual(expect.arrayContaining(['multipliers']));
  });
});
