import { deciderSpec } from '@ledger/testing/decider-spec';
import { AssertionFailed, Conflict, InvalidInput, NotFound, Refused } from '../shared/errors';
import { AccruePoints, EnrolMember, RedeemPoints, ReverseTransaction, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { LotSlice, MemberEvent, PointsAccrued, PointsExpired, PointsRedeemed, memberStream } from './member.events';
import { evolveMember, initialMember } from './member.state';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const MEMBER = 'm-1';
const CARD = '4111111111111111';
/** 1 point per 100.00 RUB; a point is worth 10 kopecks. */
const EARN = { pointsPerUnit: 1, unitMinor: 10_000 };
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
const OCT_1 = '2026-10-01T10:00:00.000Z';
const NOV_1 = '2026-11-01T10:00:00.000Z';

const specAt = (now: Date) => deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now });
const given = specAt(NOW);

// Commands, as the handlers build them.

const enrol = (data: Partial<EnrolMember['data']> = {}): EnrolMember => ({
  type: 'EnrolMember',
  data: { memberId: MEMBER, cardNumber: CARD, birthDate: '1990-05-17', enrolledBy: 'grocer', ...data },
});

const accrue = (data: Partial<AccruePoints['data']> = {}, context: Partial<AccruePoints['context']> = {}): AccruePoints => ({
  type: 'AccruePoints',
  data: { partnerId: 'grocer', externalId: 'r-1', memberId: MEMBER, amountMinor: 1_500_000, currency: 'RUB', occurredAt: OCT_1, ...data },
  context: { ...CTX, earnRule: EARN, ...context },
});

const redeem = (data: Partial<RedeemPoints['data']> = {}, context: Partial<TxContext> = {}): RedeemPoints => ({
  type: 'RedeemPoints',
  data: { partnerId: 'cafe', externalId: 'x-1', memberId: MEMBER, points: 30, occurredAt: NOV_1, ...data },
  context: { ...CTX, ...context },
});

const reverse = (data: Partial<ReverseTransaction['data']> = {}, context: Partial<TxContext> = {}): ReverseTransaction => ({
  type: 'ReverseTransaction',
  data: { partnerId: 'grocer', externalId: 'refund-1', memberId: MEMBER, originalExternalId: 'r-1', occurredAt: NOV_1, ...data },
  context: { ...CTX, ...context },
});

// Facts, written out in full so each spec shows exactly what was recorded before.

const enrolled = (): MemberEvent => ({
  type: 'MemberEnrolled',
  data: { memberId: MEMBER, cardNumber: CARD, birthDate: '1990-05-17', enrolledBy: 'grocer', occurredAt: '2026-08-01T09:00:00.000Z' },
});

const accrued = (o: {
  partnerId?: string;
  externalId?: string;
  points: number;
  amountMinor?: number;
  occurredAt?: string;
  expiresAt?: string;
  pointValueMinor?: number;
}): PointsAccrued => {
  const partnerId = o.partnerId ?? 'grocer';
  const externalId = o.externalId ?? 'r-1';
  return {
    type: 'PointsAccrued',
    data: {
      txId: `${partnerId}:${externalId}`,
      partnerId,
      externalId,
      memberId: MEMBER,
      amountMinor: o.amountMinor ?? o.points * 10_000,
      currency: 'RUB',
      points: o.points,
      pointValueMinor: o.pointValueMinor ?? 10,
      lotId: `${partnerId}:${externalId}`,
      issuerPartnerId: partnerId,
      expiresAt: o.expiresAt ?? '2027-10-01T10:00:00.000Z',
      occurredAt: o.occurredAt ?? OCT_1,
    },
  };
};

const slice = (lotId: string, points: number): LotSlice => ({ lotId, issuerPartnerId: lotId.split(':')[0], points });

const redeemed = (o: {
  partnerId?: string;
  externalId?: string;
  points: number;
  slices: LotSlice[];
  occurredAt?: string;
}): PointsRedeemed => {
  const partnerId = o.partnerId ?? 'cafe';
  const externalId = o.externalId ?? 'x-1';
  return {
    type: 'PointsRedeemed',
    data: {
      txId: `${partnerId}:${externalId}`,
      partnerId,
      externalId,
      memberId: MEMBER,
      points: o.points,
      pointValueMinor: 10,
      currency: 'RUB',
      slices: o.slices,
      occurredAt: o.occurredAt ?? NOV_1,
    },
  };
};

const expired = (lotId: string, points: number, occurredAt: string): PointsExpired => ({
  type: 'PointsExpired',
  data: { memberId: MEMBER, lotId, issuerPartnerId: lotId.split(':')[0], points, pointValueMinor: 10, currency: 'RUB', occurredAt },
});

describe('member decider', () => {
  it('lives on a stream named after the member', () => {
    expect(memberStream(MEMBER)).toBe('member-m-1');
  });

  describe('EnrolMember', () => {
    it('enrols a member with a Luhn-valid card, dated now', () =>
      given([])
        .when(enrol())
        .then([
          {
            type: 'MemberEnrolled',
            data: {
              memberId: MEMBER,
              cardNumber: CARD,
              birthDate: '1990-05-17',
              enrolledBy: 'grocer',
              occurredAt: '2026-11-20T12:00:00.000Z',
            },
          },
        ]));

    it.each(['4111111111111112', '411111111111', '4111-1111-1111-1111', ''])('refuses the card %j', (cardNumber) =>
      given([])
        .when(enrol({ cardNumber }))
        .thenThrows((e) => e instanceof InvalidInput && e.details[0].field === 'cardNumber'),
    );

    it('refuses to enrol a member twice', () => given([enrolled()]).when(enrol()).thenThrows(Conflict, 'member_exists'));

    it('starts an enrolled member at zero', () => {
      const state = given([enrolled()]).state();
      expect(state).toMatchObject({
        status: 'active',
        memberId: MEMBER,
        cardNumber: CARD,
        available: 0,
        lots: [],
        enrolledAt: '2026-08-01T09:00:00.000Z',
      });
    });
  });

  describe('AccruePoints', () => {
    it('earns points by the earn rule and opens one lot, expiring after the policy months', () =>
      given([enrolled()])
        .when(accrue({ amountMinor: 1_512_345 }))
        .then([
          {
            type: 'PointsAccrued',
            data: {
              txId: 'grocer:r-1',
              partnerId: 'grocer',
              externalId: 'r-1',
              memberId: MEMBER,
              amountMinor: 1_512_345,
              currency: 'RUB',
              points: 151, // whole units only: 15 123.45 RUB earns 151 points
              pointValueMinor: 10,
              lotId: 'grocer:r-1',
              issuerPartnerId: 'grocer',
              expiresAt: '2027-10-01T10:00:00.000Z',
              occurredAt: OCT_1,
            },
          },
        ]));

    it('puts the points in an open lot and on the balance', () =>
      given([enrolled()])
        .when(accrue())
        .thenState((state) => {
          expect(state.lots).toEqual([
            { lotId: 'grocer:r-1', issuerPartnerId: 'grocer', points: 150, expiresAt: '2027-10-01T10:00:00.000Z', seq: 0 },
          ]);
          expect(state).toMatchObject({ available: 150, lifetimeAccrued: 150, lifetimeRedeemed: 0 });
          expect(state.transactions.get('grocer:r-1')).toMatchObject({ kind: 'accrual', points: 150, balanceAfter: 150, position: 2 });
        }));

    it('records the point value in force when issued', () =>
      given([enrolled()])
        .when(accrue({}, { pointValueMinor: 25 }))
        .then([accrued({ points: 150, pointValueMinor: 25 })]));

    it.each([
      ['2026-08-31T10:00:00.000Z', 1, '2026-09-30T10:00:00.000Z'], // 31 Aug + 1 month: clamped to 30 Sep
      ['2026-08-31T10:00:00.000Z', 3, '2026-11-30T10:00:00.000Z'],
      ['2026-08-31T10:00:00.000Z', 6, '2027-02-28T10:00:00.000Z'],
      ['2026-10-31T23:30:00.000Z', 4, '2027-02-28T23:30:00.000Z'],
    ])('accrued on %s with %p-month expiry expires on %s', (occurredAt, expiryMonths, expiresAt) =>
      given([enrolled()])
        .when(accrue({ occurredAt }, { expiryMonths }))
        .then([accrued({ points: 150, occurredAt, expiresAt })]),
    );

    it.each([
      ['2027-01-31T10:00:00.000Z', '2027-02-28T10:00:00.000Z', new Date('2027-02-10T00:00:00.000Z')],
      ['2028-01-31T10:00:00.000Z', '2028-02-29T10:00:00.000Z', new Date('2028-02-10T00:00:00.000Z')], // leap year
    ])('accrued on %s with 1-month expiry expires on the month end %s', (occurredAt, expiresAt, now) =>
      specAt(now)([enrolled()])
        .when(accrue({ occurredAt }, { expiryMonths: 1 }))
        .then([accrued({ points: 150, occurredAt, expiresAt })]),
    );

    it('records the business date in UTC whatever offset the till wrote', () =>
      given([enrolled()])
        .when(accrue({ occurredAt: '2026-10-01T13:00:00+03:00' }))
        .then([accrued({ points: 150, occurredAt: OCT_1, expiresAt: '2027-10-01T10:00:00.000Z' })]));

    it('records a purchase below one unit as a zero-point accrual', () =>
      given([enrolled()])
        .when(accrue({ amountMinor: 9_999 }))
        .then([accrued({ points: 0, amountMinor: 9_999 })]));

    it('opens no lot for a zero-point accrual, but records the transaction', () =>
      given([enrolled()])
        .when(accrue({ amountMinor: 9_999 }))
        .thenState((state) => {
          expect(state.lots).toEqual([]);
          expect(state.available).toBe(0);
          expect(state.transactions.get('grocer:r-1')).toMatchObject({ kind: 'accrual', points: 0 });
        }));

    it('answers a retried zero-point accrual as a replay', () =>
      given([enrolled(), accrued({ points: 0, amountMinor: 9_999 })])
        .when(accrue({ amountMinor: 9_999 }))
        .thenNothingHappened());

    describe('idempotency', () => {
      it('writes nothing for a retry with the same payload', () =>
        given([enrolled(), accrued({ points: 150 })])
          .when(accrue())
          .thenNothingHappened());

      it('keeps the original answer in the state, where the handler answers a retry from', () => {
        const history = [enrolled(), accrued({ points: 150 }), accrued({ externalId: 'r-2', points: 10 })];
        given(history).when(accrue()).thenNothingHappened();
        expect(given(history).state().transactions.get('grocer:r-1')).toEqual({
          kind: 'accrual',
          fingerprint: expect.any(String),
          points: 150,
          balanceAfter: 150, // as answered then, not the balance now
          slices: [],
          position: 2,
          occurredAt: OCT_1,
          pointValueMinor: 10,
        });
      });

      it('treats the same instant written with another offset as the same payload', () =>
        given([enrolled(), accrued({ points: 150 })])
          .when(accrue({ occurredAt: '2026-10-01T13:00:00+03:00' }))
          .thenNothingHappened());

      it('answers a retry even after the point value and earn rule changed', () =>
        given([enrolled(), accrued({ points: 150 })])
          .when(accrue({}, { pointValueMinor: 99, earnRule: { pointsPerUnit: 7, unitMinor: 1 } }))
          .thenNothingHappened());

      it.each([
        ['amount', { amountMinor: 1_500_001 }],
        ['business date', { occurredAt: '2026-10-01T10:00:01.000Z' }],
      ])('refuses the same receipt with another %s', (_what, change) =>
        given([enrolled(), accrued({ points: 150 })])
          .when(accrue(change))
          .thenThrows(Conflict, 'idempotency_conflict'),
      );

      it('refuses an accrual that reuses the receipt id of a redemption by the same partner', () =>
        given([
          enrolled(),
          accrued({ points: 150 }),
          redeemed({ partnerId: 'grocer', externalId: 'r-2', points: 10, slices: [slice('grocer:r-1', 10)] }),
        ])
          .when(accrue({ externalId: 'r-2' }))
          .thenThrows(Conflict, 'idempotency_conflict'));

      it('scopes receipt ids to the partner: another partner may use the same one', () =>
        given([enrolled(), accrued({ points: 150 })])
          .when(accrue({ partnerId: 'cafe' }))
          .then([accrued({ partnerId: 'cafe', points: 150 })]));
    });

    describe('business date', () => {
      it('accepts a till clock up to 5 minutes ahead', () =>
        given([enrolled()])
          .when(accrue({ occurredAt: '2026-11-20T12:05:00.000Z' }))
          .then([accrued({ points: 150, occurredAt: '2026-11-20T12:05:00.000Z', expiresAt: '2027-11-20T12:05:00.000Z' })]));

      it('refuses a business date more than 5 minutes in the future', () =>
        given([enrolled()])
          .when(accrue({ occurredAt: '2026-11-20T12:05:00.001Z' }))
          .thenThrows((e) => e instanceof InvalidInput && e.details[0].field === 'occurredAt'));

      it('accepts a business date exactly maxBackdateDays old', () =>
        given([enrolled()])
          .when(accrue({ occurredAt: '2026-08-22T12:00:00.000Z' }))
          .then([accrued({ points: 150, occurredAt: '2026-08-22T12:00:00.000Z', expiresAt: '2027-08-22T12:00:00.000Z' })]));

      it('refuses a business date older than maxBackdateDays', () =>
        given([enrolled()])
          .when(accrue({ occurredAt: '2026-08-22T11:59:59.999Z' }))
          .thenThrows(InvalidInput, 'invalid_input'));

      it('uses the configured window', () =>
        given([enrolled()])
          .when(accrue({ occurredAt: OCT_1 }, { maxBackdateDays: 30 }))
          .thenThrows(InvalidInput));

      it('refuses a business date that is not a date', () =>
        given([enrolled()])
          .when(accrue({ occurredAt: 'soon' }))
          .thenThrows(InvalidInput));
    });

    it('refuses a currency other than the coalition currency', () =>
      given([enrolled()])
        .when(accrue({ currency: 'EUR' }))
        .thenThrows((e) => e instanceof InvalidInput && e.details[0].field === 'currency'));

    it('refuses an unknown member', () => given([]).when(accrue()).thenThrows(NotFound, 'member_not_found'));
  });

  describe('RedeemPoints', () => {
    // grocer: 100 points expiring in a year; cafe: 50 expiring in two months; cinema: 70 in a year, later.
    const threeLots = (): MemberEvent[] => [
      enrolled(),
      accrued({ partnerId: 'grocer', externalId: 'r-1', points: 100, occurredAt: OCT_1, expiresAt: '2027-10-01T10:00:00.000Z' }),
      accrued({
        partnerId: 'cafe',
        externalId: 'c-1',
        points: 50,
        occurredAt: '2026-10-05T10:00:00.000Z',
        expiresAt: '2026-12-05T10:00:00.000Z',
      }),
      accrued({
        partnerId: 'cinema',
        externalId: 'm-1',
        points: 70,
        occurredAt: '2026-10-10T10:00:00.000Z',
        expiresAt: '2027-10-10T10:00:00.000Z',
      }),
    ];

    it('takes the lot that expires soonest first, recording each slice with its issuer', () =>
      given(threeLots())
        .when(redeem({ partnerId: 'shop', externalId: 'x-1', points: 120 }))
        .then([
          {
            type: 'PointsRedeemed',
            data: {
              txId: 'shop:x-1',
              partnerId: 'shop',
              externalId: 'x-1',
              memberId: MEMBER,
              points: 120,
              pointValueMinor: 10,
              currency: 'RUB',
              slices: [
                { lotId: 'cafe:c-1', issuerPartnerId: 'cafe', points: 50 },
                { lotId: 'grocer:r-1', issuerPartnerId: 'grocer', points: 70 },
              ],
              occurredAt: NOV_1,
            },
          },
        ]));

    describe('after a partly spent lot', () => {
      const partlySpent = (): MemberEvent[] => [
        ...threeLots(),
        redeemed({ partnerId: 'shop', points: 120, slices: [slice('cafe:c-1', 50), slice('grocer:r-1', 70)] }),
      ];

      it('continues from the partly spent lot before the next one', () =>
        given(partlySpent())
          .when(redeem({ partnerId: 'shop', externalId: 'x-2', points: 60 }))
          .then([
            redeemed({ partnerId: 'shop', externalId: 'x-2', points: 60, slices: [slice('grocer:r-1', 30), slice('cinema:m-1', 30)] }),
          ]));

      it('leaves what the slices did not take', () =>
        given(partlySpent())
          .when(redeem({ partnerId: 'shop', externalId: 'x-2', points: 60 }))
          .thenState((state) => {
            expect(state.lots).toEqual([
              { lotId: 'cinema:m-1', issuerPartnerId: 'cinema', points: 40, expiresAt: '2027-10-10T10:00:00.000Z', seq: 2 },
            ]);
            expect(state).toMatchObject({ available: 40, lifetimeAccrued: 220, lifetimeRedeemed: 180 });
          }));
    });

    it('among lots that expire together, takes the oldest lot first whoever issued it', () =>
      given([
        enrolled(),
        accrued({ partnerId: 'cinema', externalId: 'm-1', points: 80 }),
        accrued({ partnerId: 'grocer', externalId: 'r-1', points: 100 }),
      ])
        .when(redeem({ points: 120 }))
        .then([redeemed({ points: 120, slices: [slice('cinema:m-1', 80), slice('grocer:r-1', 40)] })]));

    it('orders lots clamped to the same month end by when they were accrued', () =>
      given([
        enrolled(),
        accrued({
          partnerId: 'grocer',
          externalId: 'r-31',
          points: 10,
          occurredAt: '2026-08-31T10:00:00.000Z',
          expiresAt: '2026-11-30T10:00:00.000Z',
        }),
        accrued({
          partnerId: 'cafe',
          externalId: 'c-30',
          points: 10,
          occurredAt: '2026-08-30T10:00:00.000Z',
          expiresAt: '2026-11-30T10:00:00.000Z',
        }),
      ])
        .when(redeem({ points: 15 }))
        .then([redeemed({ points: 15, slices: [slice('grocer:r-31', 10), slice('cafe:c-30', 5)] })]));

    it('spends the whole balance, leaving no open lot', () =>
      given(threeLots())
        .when(redeem({ points: 220 }))
        .thenState((state) => {
          expect(state.lots).toEqual([]);
          expect(state.available).toBe(0);
        }));

    it('refuses more points than the member has, naming the refusal', () =>
      given(threeLots())
        .when(redeem({ points: 221 }))
        .thenThrows(Refused, 'insufficient_points'));

    it('refuses a redemption from an empty account', () =>
      given([enrolled()])
        .when(redeem({ points: 1 }))
        .thenThrows(Refused, 'insufficient_points'));

    describe('expired lots', () => {
      // grocer's 100 points expired on 25 Sep (no PointsExpired written yet); cafe's 40 are good.
      const oneExpired = (): MemberEvent[] => [
        enrolled(),
        accrued({
          partnerId: 'grocer',
          externalId: 'r-1',
          points: 100,
          occurredAt: '2026-08-25T10:00:00.000Z',
          expiresAt: '2026-09-25T10:00:00.000Z',
        }),
        accrued({ partnerId: 'cafe', externalId: 'c-1', points: 40 }),
      ];

      it('does not count them as spendable', () =>
        given(oneExpired())
          .when(redeem({ points: 41 }))
          .thenThrows(Refused, 'insufficient_points'));

      it('spends only the lots still good at the business date', () =>
        given(oneExpired())
          .when(redeem({ points: 40 }))
          .then([redeemed({ points: 40, slices: [slice('cafe:c-1', 40)] })]));

      it('does not spend a lot at the very instant it expires', () =>
        given(oneExpired())
          .when(redeem({ points: 41, occurredAt: '2026-09-25T10:00:00.000Z' }))
          .thenThrows(Refused, 'insufficient_points'));

      it('spends a lot that was still good at a backdated business date', () =>
        given(oneExpired())
          .when(redeem({ points: 41, occurredAt: '2026-09-25T09:59:59.999Z' }))
          .then([redeemed({ points: 41, occurredAt: '2026-09-25T09:59:59.999Z', slices: [slice('grocer:r-1', 41)] })]));
    });

    describe('idempotency', () => {
      const spent = (): MemberEvent[] => [
        enrolled(),
        accrued({ points: 100 }),
        redeemed({ points: 30, slices: [slice('grocer:r-1', 30)] }),
      ];

      it('writes nothing for a retry; the state keeps the original slices to answer it with', () => {
        given(spent()).when(redeem()).thenNothingHappened();
        expect(given(spent()).state().transactions.get('cafe:x-1')).toMatchObject({
          kind: 'redemption',
          points: 30,
          balanceAfter: 70,
          slices: [slice('grocer:r-1', 30)],
          position: 3,
        });
      });

      it('answers a retry even when the balance could no longer cover it', () =>
        given([enrolled(), accrued({ points: 100 }), redeemed({ points: 100, slices: [slice('grocer:r-1', 100)] })])
          .when(redeem({ points: 100 }))
          .thenNothingHappened());

      it.each([
        ['points', { points: 31 }],
        ['business date', { occurredAt: '2026-11-02T10:00:00.000Z' }],
      ])('refuses the same receipt with other %s', (_what, change) =>
        given(spent()).when(redeem(change)).thenThrows(Conflict, 'idempotency_conflict'),
      );

      it('refuses a redemption that reuses the receipt id of an accrual by the same partner', () =>
        given(spent())
          .when(redeem({ partnerId: 'grocer', externalId: 'r-1' }))
          .thenThrows(Conflict, 'idempotency_conflict'));
    });

    it('refuses an unknown member', () => given([]).when(redeem()).thenThrows(NotFound, 'member_not_found'));

    it('refuses a business date in the future', () =>
      given(threeLots())
        .when(redeem({ occurredAt: '2026-11-21T00:00:00.000Z' }))
        .thenThrows(InvalidInput, 'invalid_input'));

    it('asserts the points were validated upstream', () =>
      given(threeLots())
        .when(redeem({ points: 0 }))
        .thenThrows(AssertionFailed));
  });

  describe('ReverseTransaction', () => {
    describe('of an accrual', () => {
      it('takes the unspent lot back out', () =>
        given([enrolled(), accrued({ points: 100 }), accrued({ partnerId: 'cafe', externalId: 'c-1', points: 40 })])
          .when(reverse())
          .then([
            {
              type: 'AccrualReversed',
              data: {
                txId: 'grocer:refund-1',
                partnerId: 'grocer',
                externalId: 'refund-1',
                memberId: MEMBER,
                originalTxId: 'grocer:r-1',
                lotId: 'grocer:r-1',
                issuerPartnerId: 'grocer',
                points: 100,
                pointValueMinor: 10,
                currency: 'RUB',
                occurredAt: NOV_1,
              },
            },
          ]));

      it('leaves the balance and lots as if the accrual had not been', () =>
        given([enrolled(), accrued({ points: 100 }), accrued({ partnerId: 'cafe', externalId: 'c-1', points: 40 })])
          .when(reverse())
          .thenState((state) => {
            expect(state.lots.map((l) => l.lotId)).toEqual(['cafe:c-1']);
            expect(state).toMatchObject({ available: 40, lifetimeAccrued: 40 });
            expect(state.reversedTxIds).toEqual(new Set(['grocer:r-1']));
          }));

      it('values the reversal at the point value of the accrual', () =>
        given([enrolled(), accrued({ points: 100, pointValueMinor: 10 })])
          .when(reverse({}, { pointValueMinor: 25 }))
          .then([accrualReversed('refund-1', 'r-1', 100)]));

      it('is refused once any of its points are spent: the balance never goes negative', () =>
        given([enrolled(), accrued({ points: 100 }), redeemed({ points: 1, slices: [slice('grocer:r-1', 1)] })])
          .when(reverse())
          .thenThrows(Refused, 'points_already_spent'));

      it('is refused once the lot has expired', () =>
        given([enrolled(), accrued({ points: 100 }), expired('grocer:r-1', 100, '2027-10-01T10:00:00.000Z')])
          .when(reverse())
          .thenThrows(Refused, 'points_already_spent'));

      describe('once the redemption that spent it is reversed', () => {
        const spentThenCancelled = (): MemberEvent[] => [
          enrolled(),
          accrued({ points: 100 }),
          redeemed({ partnerId: 'grocer', externalId: 'x-1', points: 60, slices: [slice('grocer:r-1', 60)] }),
          redemptionReversed('grocer', 'cancel-x-1', 'x-1', 60, [slice('grocer:r-1', 60)]),
        ];

        it('is allowed again', () =>
          given(spentThenCancelled())
            .when(reverse())
            .then([accrualReversed('refund-1', 'r-1', 100)]));

        it('leaves nothing on the balance', () =>
          given(spentThenCancelled())
            .when(reverse())
            .thenState((state) => expect(state.available).toBe(0)));
      });
    });

    describe('of a redemption', () => {
      // The redemption at the shop emptied grocer's lot and took 20 of cafe's.
      const spentAcrossLots = (): MemberEvent[] => [
        enrolled(),
        accrued({ partnerId: 'grocer', externalId: 'r-1', points: 100 }),
        accrued({ partnerId: 'cafe', externalId: 'c-1', points: 50, expiresAt: '2027-10-05T10:00:00.000Z' }),
        redeemed({ partnerId: 'shop', externalId: 'x-1', points: 120, slices: [slice('grocer:r-1', 100), slice('cafe:c-1', 20)] }),
      ];

      it('returns the exact slices, valued as when redeemed', () =>
        given(spentAcrossLots())
          .when(
            reverse(
              { partnerId: 'shop', externalId: 'cancel-1', originalExternalId: 'x-1', occurredAt: '2026-11-02T10:00:00.000Z' },
              { pointValueMinor: 25 },
            ),
          )
          .then([
            {
              type: 'RedemptionReversed',
              data: {
                txId: 'shop:cancel-1',
                partnerId: 'shop',
                externalId: 'cancel-1',
                memberId: MEMBER,
                originalTxId: 'shop:x-1',
                originalOccurredAt: NOV_1,
                points: 120,
                pointValueMinor: 10,
                currency: 'RUB',
                slices: [slice('grocer:r-1', 100), slice('cafe:c-1', 20)],
                occurredAt: '2026-11-02T10:00:00.000Z',
              },
            },
          ]));

      it('reopens an emptied lot with its issuer, expiry and place in line, and restores the balance', () =>
        given(spentAcrossLots())
          .when(reverse({ partnerId: 'shop', externalId: 'cancel-1', originalExternalId: 'x-1' }))
          .thenState((state) => {
            expect(state.lots).toEqual([
              { lotId: 'grocer:r-1', issuerPartnerId: 'grocer', points: 100, expiresAt: '2027-10-01T10:00:00.000Z', seq: 0 },
              { lotId: 'cafe:c-1', issuerPartnerId: 'cafe', points: 50, expiresAt: '2027-10-05T10:00:00.000Z', seq: 1 },
            ]);
            expect(state).toMatchObject({ available: 150, lifetimeAccrued: 150, lifetimeRedeemed: 0 });
          }));

      it('spends a reopened lot in its original place', () =>
        given([...spentAcrossLots(), redemptionReversed('shop', 'cancel-1', 'x-1', 120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)])])
          .when(redeem({ externalId: 'x-2', points: 110 }))
          .then([redeemed({ externalId: 'x-2', points: 110, slices: [slice('grocer:r-1', 100), slice('cafe:c-1', 10)] })]));

      it('writes nothing for a retried reversal; the state keeps the original answer', () => {
        const cancelled = [
          ...spentAcrossLots(),
          redemptionReversed('shop', 'cancel-1', 'x-1', 120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)]),
        ];
        given(cancelled)
          .when(reverse({ partnerId: 'shop', externalId: 'cancel-1', originalExternalId: 'x-1' }))
          .thenNothingHappened();
        expect(given(cancelled).state().transactions.get('shop:cancel-1')).toMatchObject({
          kind: 'redemption_reversal',
          points: 120,
          balanceAfter: 150,
          position: 5,
        });
      });

      it('refuses a second reversal under another receipt id', () =>
        given([...spentAcrossLots(), redemptionReversed('shop', 'cancel-1', 'x-1', 120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)])])
          .when(reverse({ partnerId: 'shop', externalId: 'cancel-2', originalExternalId: 'x-1' }))
          .thenThrows(Conflict, 'already_reversed'));
    });

    it('refuses to reverse an accrual twice', () =>
      given([enrolled(), accrued({ points: 100 }), accrued({ externalId: 'r-2', points: 100 }), accrualReversed('refund-1', 'r-1', 100)])
        .when(reverse({ externalId: 'refund-2' }))
        .thenThrows(Conflict, 'already_reversed'));

    it('refuses the reversal receipt id reused for another original', () =>
      given([enrolled(), accrued({ points: 100 }), accrued({ externalId: 'r-2', points: 100 }), accrualReversed('refund-1', 'r-1', 100)])
        .when(reverse({ originalExternalId: 'r-2' }))
        .thenThrows(Conflict, 'idempotency_conflict'));

    it('refuses an unknown original transaction', () =>
      given([enrolled(), accrued({ points: 100 })])
        .when(reverse({ originalExternalId: 'nope' }))
        .thenThrows(NotFound, 'transaction_not_found'));

    it("refuses another partner's transaction as unknown: a partner reverses only its own", () =>
      given([enrolled(), accrued({ points: 100 })])
        .when(reverse({ partnerId: 'cafe' }))
        .thenThrows(NotFound, 'transaction_not_found'));

    it('refuses to reverse a reversal', () =>
      given([enrolled(), accrued({ points: 100 }), accrualReversed('refund-1', 'r-1', 100)])
        .when(reverse({ externalId: 'refund-2', originalExternalId: 'refund-1' }))
        .thenThrows(NotFound, 'transaction_not_found'));

    it('refuses an unknown member', () => given([]).when(reverse()).thenThrows(NotFound, 'member_not_found'));

    it('refuses a business date older than the window', () =>
      given([enrolled(), accrued({ points: 100 })])
        .when(reverse({ occurredAt: '2026-08-01T00:00:00.000Z' }))
        .thenThrows(InvalidInput));
  });

  describe('PointsExpired (evolve)', () => {
    it('takes what is left of the lot off the balance and counts it as expired', () => {
      const state = given([
        enrolled(),
        accrued({ points: 100, expiresAt: '2026-11-15T10:00:00.000Z' }),
        accrued({ partnerId: 'cafe', externalId: 'c-1', points: 40 }),
        expired('grocer:r-1', 100, '2026-11-15T10:00:00.000Z'),
      ]).state();
      expect(state.lots.map((l) => l.lotId)).toEqual(['cafe:c-1']);
      expect(state).toMatchObject({ available: 40, lifetimeAccrued: 140, lifetimeRedeemed: 0, lifetimeExpired: 100 });
    });

    it('expires only the unspent part of a lot', () => {
      const state = given([
        enrolled(),
        accrued({ points: 100, expiresAt: '2026-11-15T10:00:00.000Z' }),
        redeemed({ points: 30, slices: [slice('grocer:r-1', 30)] }),
        expired('grocer:r-1', 70, '2026-11-15T10:00:00.000Z'),
      ]).state();
      expect(state).toMatchObject({ lots: [], available: 0, lifetimeAccrued: 100, lifetimeRedeemed: 30, lifetimeExpired: 70 });
    });

    it('leaves the expired points unspendable', () =>
      given([enrolled(), accrued({ points: 100 }), expired('grocer:r-1', 100, '2027-10-01T10:00:00.000Z')])
        .when(redeem({ points: 1 }))
        .thenThrows(Refused, 'insufficient_points'));

    it('asserts an expiry never exceeds what is left of the lot', () => {
      expect(() => given([enrolled(), accrued({ points: 100 }), expired('grocer:r-1', 101, '2027-10-01T10:00:00.000Z')]).state()).toThrow(
        AssertionFailed,
      );
    });
  });

  describe('evolve guards', () => {
    it('asserts a redemption slice names an open lot', () => {
      expect(() =>
        given([enrolled(), accrued({ points: 100 }), redeemed({ points: 10, slices: [slice('cafe:none', 10)] })]).state(),
      ).toThrow(AssertionFailed);
    });

    it('asserts a redemption never takes the balance below zero', () => {
      expect(() =>
        given([enrolled(), accrued({ points: 10 }), redeemed({ points: 11, slices: [slice('grocer:r-1', 11)] })]).state(),
      ).toThrow(AssertionFailed);
    });
  });

  describe('retries after the backdating window moved on', () => {
    // docs/domain.md, "Idempotency": a repeat with the same payload returns the original result, even when its
    // business date has since slid out of the window that admitted it.
    const later = specAt(new Date('2026-11-20T14:00:00.000Z'));
    const acceptedAtNow = '2026-08-22T13:00:00.000Z'; // 89 days 23 h before NOW; 90 days 1 h before `later`

    it('answers a retried accrual as a replay after its business date left the window', () =>
      later([enrolled(), accrued({ points: 150, occurredAt: acceptedAtNow, expiresAt: '2027-08-22T13:00:00.000Z' })])
        .when(accrue({ occurredAt: acceptedAtNow }))
        .thenNothingHappened());

    it('answers a retried redemption as a replay after its business date left the window', () =>
      later([enrolled(), accrued({ points: 150 }), redeemed({ points: 30, slices: [slice('grocer:r-1', 30)], occurredAt: acceptedAtNow })])
        .when(redeem({ occurredAt: acceptedAtNow }))
        .thenNothingHappened());
  });
});

function redemptionReversed(
  partnerId: string,
  externalId: string,
  originalExternalId: string,
  points: number,
  slices: LotSlice[],
): MemberEvent {
  return {
    type: 'RedemptionReversed',
    data: {
      txId: `${partnerId}:${externalId}`,
      partnerId,
      externalId,
      memberId: MEMBER,
      originalTxId: `${partnerId}:${originalExternalId}`,
      originalOccurredAt: NOV_1,
      points,
      pointValueMinor: 10,
      currency: 'RUB',
      slices,
      occurredAt: NOV_1,
    },
  };
}

function accrualReversed(externalId: string, originalExternalId: string, points: number): MemberEvent {
  return {
    type: 'AccrualReversed',
    data: {
      txId: `grocer:${externalId}`,
      partnerId: 'grocer',
      externalId,
      memberId: MEMBER,
      originalTxId: `grocer:${originalExternalId}`,
      lotId: `grocer:${originalExternalId}`,
      issuerPartnerId: 'grocer',
      points,
      pointValueMinor: 10,
      currency: 'RUB',
      occurredAt: NOV_1,
    },
  };
}
