import { deciderSpec } from '@ledger/testing/decider-spec';
import { Conflict, InvalidInput, Refused } from '../shared/errors';
import { decidePartner, initialPartner } from '../partner/partner';
import { AccruePoints, PlaceHold, RedeemPoints, ReleasePendingPoints, ReverseTransaction, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { AccrualReversed, MemberEvent, PointsAccrued, PointsRedeemed, PointsReleased } from './member.events';
import { evolveMember, initialMember, pendingPointsAt } from './member.state';

/** A 14-day return window: cafe's accrual on 1 Nov is pending until 15 Nov. */
const ACCRUED_AT = '2026-11-01T10:00:00.000Z';
const AVAILABLE_AT = '2026-11-15T10:00:00.000Z';
const DURING = new Date('2026-11-10T12:00:00.000Z');
const AFTER = new Date('2026-11-16T12:00:00.000Z');
const MEMBER = 'm-1';
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };

const specAt = (now: Date) => deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now });
const during = specAt(DURING);
const after = specAt(AFTER);

const enrolled = (): MemberEvent => ({
  type: 'MemberEnrolled',
  data: { memberId: MEMBER, cardNumber: '4111111111111111', birthDate: null, enrolledBy: 'cafe', occurredAt: '2026-08-01T09:00:00.000Z' },
});

const accrued = (partnerId: string, externalId: string, points: number, o: { availableAt?: string; occurredAt?: string } = {}) => {
  const event: PointsAccrued = {
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
      expiresAt: '2027-11-01T10:00:00.000Z',
      ...(o.availableAt === undefined ? {} : { availableAt: o.availableAt }),
      occurredAt: o.occurredAt ?? ACCRUED_AT,
    },
  };
  return event;
};

/** grocer's 30 points are spendable; cafe's 100 are pending until AVAILABLE_AT. */
const history = (): MemberEvent[] => [
  enrolled(),
  accrued('grocer', 'g-1', 30, { occurredAt: '2026-10-01T10:00:00.000Z' }),
  accrued('cafe', 'c-1', 100, { availableAt: AVAILABLE_AT }),
];

const accrue = (pendingDays: number | undefined, occurredAt = ACCRUED_AT): AccruePoints => ({
  type: 'AccruePoints',
  data: { partnerId: 'cafe', externalId: 'c-1', memberId: MEMBER, amountMinor: 10_000, currency: 'RUB', occurredAt },
  context: { ...CTX, earnRule: { pointsPerUnit: 1, unitMinor: 100, ...(pendingDays === undefined ? {} : { pendingDays }) } },
});

const redeem = (points: number, at: Date): RedeemPoints => ({
  type: 'RedeemPoints',
  data: { partnerId: 'grocer', externalId: 'r-1', memberId: MEMBER, points, occurredAt: at.toISOString() },
  context: CTX,
});

const reverse = (at: Date, points?: number): ReverseTransaction => ({
  type: 'ReverseTransaction',
  data: {
    partnerId: 'cafe',
    externalId: 'refund-1',
    memberId: MEMBER,
    originalExternalId: 'c-1',
    occurredAt: at.toISOString(),
    ...(points === undefined ? {} : { points }),
  },
  context: CTX,
});

const release = (lotId = 'cafe:c-1'): ReleasePendingPoints => ({ type: 'ReleasePendingPoints', data: { memberId: MEMBER, lotId } });

const released = (points: number): PointsReleased => ({
  type: 'PointsReleased',
  data: { memberId: MEMBER, lotId: 'cafe:c-1', issuerPartnerId: 'cafe', points, occurredAt: AVAILABLE_AT },
});

const reversed = (points: number, at: Date): AccrualReversed => ({
  type: 'AccrualReversed',
  data: {
    txId: 'cafe:refund-1',
    partnerId: 'cafe',
    externalId: 'refund-1',
    memberId: MEMBER,
    originalTxId: 'cafe:c-1',
    lotId: 'cafe:c-1',
    issuerPartnerId: 'cafe',
    points,
    pointValueMinor: 10,
    currency: 'RUB',
    occurredAt: at.toISOString(),
  },
});

describe('pending earn', () => {
  describe('the earn rule', () => {
    const join = (pendingDays: unknown) =>
      decidePartner(
        {
          type: 'JoinPartner',
          data: {
            partnerId: 'cafe',
            name: 'Cafe',
            earnRule: { pointsPerUnit: 1, unitMinor: 100, pendingDays: pendingDays as number },
            issuanceFeeBps: 0,
            breakageShareBps: 0,
            effectiveFrom: ACCRUED_AT,
          },
        },
        initialPartner(),
      );

    it.each([-1, 1.5, 366, Number.NaN])('refuses pendingDays %p, naming earnRule.pendingDays', (days) => {
      expect(() => join(days)).toThrow(InvalidInput);
      try {
        join(days);
      } catch (error) {
        expect((error as InvalidInput).details).toEqual([expect.objectContaining({ field: 'earnRule.pendingDays' })]);
      }
    });

    it('records a window from 0 to 365 days', () => {
      expect(join(365)[0].data).toMatchObject({ earnRule: { pendingDays: 365 } });
      expect(join(0)[0].data).toMatchObject({ earnRule: { pendingDays: 0 } });
    });
  });

  describe('AccruePoints', () => {
    it('marks the lot pending until the business date plus pendingDays of 24 h', () =>
      during([enrolled()])
        .when(accrue(14))
        .then([{ ...accrued('cafe', 'c-1', 100, { availableAt: AVAILABLE_AT }) }]));

    it('writes no availableAt without a window (as before)', () =>
      during([enrolled()])
        .when(accrue(0))
        .then([accrued('cafe', 'c-1', 100)]));

    it('answers the balance without the pending points', () =>
      during([enrolled()])
        .when(accrue(14))
        .thenState((state) => {
          expect(state.transactions.get('cafe:c-1')?.balanceAfter).toBe(0);
          expect(pendingPointsAt(state.lots, DURING.toISOString())).toBe(100);
          expect(state.lots[0].availableAt).toBe(AVAILABLE_AT);
        }));

    it('ends a window that would reach past the expiry at the expiry: such a lot is never spendable', () =>
      during([enrolled()])
        .when({ ...accrue(365), context: { ...accrue(365).context, expiryMonths: 6 } })
        .thenState((state) => expect(state.lots[0].availableAt).toBe(state.lots[0].expiresAt)));
  });

  describe('spending', () => {
    it('never spends a pending lot', () => during(history()).when(redeem(31, DURING)).thenThrows(Refused, 'insufficient_points'));

    it('spends what is not pending', () =>
      during(history())
        .when(redeem(30, DURING))
        .thenState((state) => expect(state.lots.map((l) => [l.lotId, l.points])).toEqual([['cafe:c-1', 100]])));

    it('holds no pending points either', () => {
      const hold: PlaceHold = {
        type: 'PlaceHold',
        data: { partnerId: 'shop', externalId: 'h-1', memberId: MEMBER, points: 31, ttlSeconds: 600, occurredAt: DURING.toISOString() },
        context: CTX,
      };
      during(history()).when(hold).thenThrows(Refused, 'insufficient_points');
    });

    it('spends a lot past its availableAt before any PointsReleased is written', () => {
      const redeemed: PointsRedeemed = {
        type: 'PointsRedeemed',
        data: {
          txId: 'grocer:r-1',
          partnerId: 'grocer',
          externalId: 'r-1',
          memberId: MEMBER,
          points: 120,
          pointValueMinor: 10,
          currency: 'RUB',
          slices: [
            { lotId: 'grocer:g-1', issuerPartnerId: 'grocer', points: 30 },
            { lotId: 'cafe:c-1', issuerPartnerId: 'cafe', points: 90 },
          ],
          occurredAt: AFTER.toISOString(),
        },
      };
      after(history()).when(redeem(120, AFTER)).then([redeemed]);
    });
  });

  describe('reversing a pending accrual', () => {
    it('cancels it outright, even with every spendable point on hold', () => {
      const holdAll: MemberEvent = {
        type: 'PointsHeld',
        data: {
          txId: 'shop:h-1',
          holdId: 'shop:h-1',
          partnerId: 'shop',
          externalId: 'h-1',
          memberId: MEMBER,
          points: 30,
          ttlSeconds: 86_400,
          expiresAt: '2026-11-11T12:00:00.000Z',
          occurredAt: DURING.toISOString(),
        },
      };
      during([...history(), holdAll])
        .when(reverse(DURING))
        .then([reversed(100, DURING)]);
    });

    it('does not let pending points back a hold when a spendable accrual is refunded', () => {
      const holdAll: MemberEvent = {
        type: 'PointsHeld',
        data: {
          txId: 'shop:h-1',
          holdId: 'shop:h-1',
          partnerId: 'shop',
          externalId: 'h-1',
          memberId: MEMBER,
          points: 30,
          ttlSeconds: 86_400,
          expiresAt: '2026-11-11T12:00:00.000Z',
          occurredAt: DURING.toISOString(),
        },
      };
      const refundGrocer: ReverseTransaction = {
        type: 'ReverseTransaction',
        data: {
          partnerId: 'grocer',
          externalId: 'refund-g',
          memberId: MEMBER,
          originalExternalId: 'g-1',
          occurredAt: DURING.toISOString(),
          points: 10,
        },
        context: CTX,
      };
      during([...history(), holdAll])
        .when(refundGrocer)
        .thenThrows(Refused, 'points_held');
    });

    it('leaves nothing to release once cancelled in full', () =>
      after([...history(), reversed(100, DURING)])
        .when(release())
        .thenNothingHappened());

    it('releases only what a partial reversal left', () =>
      after([...history(), reversed(40, DURING)])
        .when(release())
        .then([released(60)]));
  });

  describe('ReleasePendingPoints', () => {
    it('records the release once the lot is due, dated at its availableAt', () =>
      after(history())
        .when(release())
        .then([released(100)]));

    it('releases a lot once: a second job (or a retry) decides nothing', () =>
      after([...history(), released(100)])
        .when(release())
        .thenNothingHappened());

    it('refuses a lot not yet due', () => during(history()).when(release()).thenThrows(Conflict, 'lot_not_due'));

    it('releases nothing for a lot that was never pending', () => after(history()).when(release('grocer:g-1')).thenNothingHappened());

    it('moves no points: the lot stays as it was, now without availableAt', () =>
      after(history())
        .when(release())
        .thenState((state) => {
          expect(state.available).toBe(130);
          expect(state.lots.find((l) => l.lotId === 'cafe:c-1')?.availableAt).toBeUndefined();
          expect(pendingPointsAt(state.lots, DURING.toISOString())).toBe(0);
        }));
  });
});
