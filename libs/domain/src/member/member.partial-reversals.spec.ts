import { deciderSpec } from '@ledger/testing/decider-spec';
import { Conflict, Refused } from '../shared/errors';
import { ReverseTransaction, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { LotSlice, MemberEvent, PointsAccrued, PointsRedeemed } from './member.events';
import { evolveMember, initialMember } from './member.state';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const MEMBER = 'm-1';
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
const NOV_1 = '2026-11-01T10:00:00.000Z';
const NOV_2 = '2026-11-02T10:00:00.000Z';

const given = deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now: NOW });

const enrolled = (): MemberEvent => ({
  type: 'MemberEnrolled',
  data: { memberId: MEMBER, cardNumber: '4111111111111111', birthDate: null, enrolledBy: 'grocer', occurredAt: '2026-08-01T09:00:00.000Z' },
});

const accrued = (partnerId: string, externalId: string, points: number, expiresAt = '2027-10-01T10:00:00.000Z'): PointsAccrued => ({
  type: 'PointsAccrued',
  data: {
    txId: `${partnerId}:${externalId}`,
    partnerId,
    externalId,
    memberId: MEMBER,
    amountMinor: points * 100,
    currency: 'RUB',
    points,
    pointValueMinor: 10,
    lotId: `${partnerId}:${externalId}`,
    issuerPartnerId: partnerId,
    expiresAt,
    occurredAt: '2026-10-01T10:00:00.000Z',
  },
});

const slice = (lotId: string, points: number): LotSlice => ({ lotId, issuerPartnerId: lotId.split(':')[0], points });

const redeemed = (points: number, slices: LotSlice[]): PointsRedeemed => ({
  type: 'PointsRedeemed',
  data: {
    txId: 'shop:x-1',
    partnerId: 'shop',
    externalId: 'x-1',
    memberId: MEMBER,
    points,
    pointValueMinor: 10,
    currency: 'RUB',
    slices,
    occurredAt: NOV_1,
  },
});

const reverse = (
  partnerId: string,
  externalId: string,
  originalExternalId: string,
  points?: number,
  occurredAt = NOV_2,
): ReverseTransaction => ({
  type: 'ReverseTransaction',
  data: { partnerId, externalId, memberId: MEMBER, originalExternalId, occurredAt, points },
  context: CTX,
});

const accrualReversed = (externalId: string, points: number): MemberEvent => ({
  type: 'AccrualReversed',
  data: {
    txId: `grocer:${externalId}`,
    partnerId: 'grocer',
    externalId,
    memberId: MEMBER,
    originalTxId: 'grocer:r-1',
    lotId: 'grocer:r-1',
    issuerPartnerId: 'grocer',
    points,
    pointValueMinor: 10,
    currency: 'RUB',
    occurredAt: NOV_2,
  },
});

const redemptionReversed = (externalId: string, points: number, slices: LotSlice[]): MemberEvent => ({
  type: 'RedemptionReversed',
  data: {
    txId: `shop:${externalId}`,
    partnerId: 'shop',
    externalId,
    memberId: MEMBER,
    originalTxId: 'shop:x-1',
    originalOccurredAt: NOV_1,
    points,
    pointValueMinor: 10,
    currency: 'RUB',
    slices,
    occurredAt: NOV_2,
  },
});

describe('partial reversals', () => {
  describe('of an accrual', () => {
    it('takes part of the unspent lot back out', () =>
      given([enrolled(), accrued('grocer', 'r-1', 100)])
        .when(reverse('grocer', 'refund-1', 'r-1', 40))
        .then([accrualReversed('refund-1', 40)]));

    it('takes only unspent points: a part the lot still holds is allowed, more is not', () => {
      const spent = [enrolled(), accrued('grocer', 'r-1', 100), redeemed(60, [slice('grocer:r-1', 60)])];
      given(spent)
        .when(reverse('grocer', 'refund-1', 'r-1', 40))
        .then([accrualReversed('refund-1', 40)]);
      given(spent)
        .when(reverse('grocer', 'refund-1', 'r-1', 41))
        .thenThrows(Refused, 'points_already_spent');
    });

    it('follows earlier parts up to the original; without points, it takes what remains', () =>
      given([enrolled(), accrued('grocer', 'r-1', 100), accrualReversed('refund-1', 30), accrualReversed('refund-2', 50)])
        .when(reverse('grocer', 'refund-3', 'r-1'))
        .then([accrualReversed('refund-3', 20)]));

    it('refuses beyond the original: 422 over_reversal naming what remains', () =>
      given([enrolled(), accrued('grocer', 'r-1', 100), accrualReversed('refund-1', 30)])
        .when(reverse('grocer', 'refund-2', 'r-1', 71))
        .thenThrows(
          (e) =>
            e instanceof Refused &&
            e.code === 'over_reversal' &&
            e.details[0]?.field === 'points' &&
            e.details[0].reason === 'at most 70 remain to be reversed',
        ));

    it('refuses another once the parts add up to the original', () =>
      given([enrolled(), accrued('grocer', 'r-1', 100), accrualReversed('refund-1', 30), accrualReversed('refund-2', 70)])
        .when(reverse('grocer', 'refund-3', 'r-1', 1))
        .thenThrows(Conflict, 'already_reversed'));

    it('counts the original as reversed only once the parts add up to it', () => {
      const part = given([enrolled(), accrued('grocer', 'r-1', 100), accrualReversed('refund-1', 30)]).state();
      expect(part.reversedTxIds.has('grocer:r-1')).toBe(false);
      expect(part.reversedPoints.get('grocer:r-1')).toBe(30);
      const all = given([
        enrolled(),
        accrued('grocer', 'r-1', 100),
        accrualReversed('refund-1', 30),
        accrualReversed('refund-2', 70),
      ]).state();
      expect(all.reversedTxIds.has('grocer:r-1')).toBe(true);
    });

    it('writes nothing for a retried part; another amount under its receipt is a conflict', () => {
      const history = [enrolled(), accrued('grocer', 'r-1', 100), accrualReversed('refund-1', 30)];
      given(history)
        .when(reverse('grocer', 'refund-1', 'r-1', 30))
        .thenNothingHappened();
      given(history)
        .when(reverse('grocer', 'refund-1', 'r-1'))
        .thenNothingHappened();
      given(history)
        .when(reverse('grocer', 'refund-1', 'r-1', 31))
        .thenThrows(Conflict, 'idempotency_conflict');
    });
  });

  describe('of a redemption', () => {
    // The shop took grocer's 100 (expiring first) and 20 of cafe's.
    const spent = (cafeExpiresAt = '2027-12-01T10:00:00.000Z'): MemberEvent[] => [
      enrolled(),
      accrued('grocer', 'r-1', 100, '2027-06-01T10:00:00.000Z'),
      accrued('cafe', 'c-1', 50, cafeExpiresAt),
      redeemed(120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)]),
    ];

    it('gives a part back newest lot first, each slice to its own lot', () =>
      given(spent())
        .when(reverse('shop', 'cancel-1', 'x-1', 30))
        .then([redemptionReversed('cancel-1', 30, [slice('cafe:c-1', 20), slice('grocer:r-1', 10)])]));

    it('then gives back what remains, in the order taken', () =>
      given([...spent(), redemptionReversed('cancel-1', 30, [slice('cafe:c-1', 20), slice('grocer:r-1', 10)])])
        .when(reverse('shop', 'cancel-2', 'x-1'))
        .then([redemptionReversed('cancel-2', 90, [slice('grocer:r-1', 90)])]));

    it('lapses at once what goes back to a lot that expired meanwhile, dated at its expiry', () =>
      given(spent('2026-11-01T12:00:00.000Z'))
        .when(reverse('shop', 'cancel-1', 'x-1', 30))
        .then([
          redemptionReversed('cancel-1', 30, [slice('cafe:c-1', 20), slice('grocer:r-1', 10)]),
          {
            type: 'PointsExpired',
            data: {
              memberId: MEMBER,
              lotId: 'cafe:c-1',
              issuerPartnerId: 'cafe',
              points: 20,
              pointValueMinor: 10,
              currency: 'RUB',
              occurredAt: '2026-11-01T12:00:00.000Z',
              txId: 'shop:cancel-1',
            },
          },
        ]));

    it('refuses beyond what remains', () =>
      given([...spent(), redemptionReversed('cancel-1', 30, [slice('cafe:c-1', 20), slice('grocer:r-1', 10)])])
        .when(reverse('shop', 'cancel-2', 'x-1', 91))
        .thenThrows(Refused, 'over_reversal'));
  });
});
