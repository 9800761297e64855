import { deciderSpec } from '@ledger/testing/decider-spec';
import { AssertionFailed, Conflict, NotFound, Refused } from '../shared/errors';
import { CaptureHold, LapseHold, PlaceHold, RedeemPoints, ReleaseHold, ReverseTransaction, TxContext } from './member.commands';
import { decideMember } from './member.decide';
import { HoldCaptured, HoldReleased, LotSlice, MemberEvent, PointsAccrued, PointsHeld, PointsRedeemed } from './member.events';
import { evolveMember, initialMember } from './member.state';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const LATER = new Date('2026-11-20T12:15:00.000Z'); // past a 10-minute hold placed at NOW
const MEMBER = 'm-1';
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
const AT = '2026-11-20T11:59:00.000Z';

const specAt = (now: Date) => deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now });
const given = specAt(NOW);
const later = specAt(LATER);

const enrolled = (): MemberEvent => ({
  type: 'MemberEnrolled',
  data: { memberId: MEMBER, cardNumber: '4111111111111111', birthDate: null, enrolledBy: 'grocer', occurredAt: '2026-08-01T09:00:00.000Z' },
});

const accrued = (partnerId: string, externalId: string, points: number, expiresAt: string): PointsAccrued => ({
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

/** grocer's 100 points expire first, cafe's 50 later: a capture takes grocer's first. */
const twoLots = (): MemberEvent[] => [
  enrolled(),
  accrued('cafe', 'c-1', 50, '2027-12-01T10:00:00.000Z'),
  accrued('grocer', 'r-1', 100, '2027-06-01T10:00:00.000Z'),
];

const held = (points: number, o: { externalId?: string; ttlSeconds?: number; expiresAt?: string } = {}): PointsHeld => {
  const externalId = o.externalId ?? 'h-1';
  return {
    type: 'PointsHeld',
    data: {
      txId: `shop:${externalId}`,
      holdId: `shop:${externalId}`,
      partnerId: 'shop',
      externalId,
      memberId: MEMBER,
      points,
      ttlSeconds: o.ttlSeconds ?? 600,
      expiresAt: o.expiresAt ?? '2026-11-20T12:10:00.000Z',
      occurredAt: AT,
    },
  };
};

const placeHold = (data: Partial<PlaceHold['data']> = {}): PlaceHold => ({
  type: 'PlaceHold',
  data: { partnerId: 'shop', externalId: 'h-1', memberId: MEMBER, points: 120, ttlSeconds: 600, occurredAt: AT, ...data },
  context: CTX,
});

const captureHold = (data: Partial<CaptureHold['data']> = {}): CaptureHold => ({
  type: 'CaptureHold',
  data: { partnerId: 'shop', externalId: 'cap-1', memberId: MEMBER, holdId: 'shop:h-1', points: null, occurredAt: AT, ...data },
  context: CTX,
});

const releaseHold = (data: Partial<ReleaseHold['data']> = {}): ReleaseHold => ({
  type: 'ReleaseHold',
  data: { partnerId: 'shop', externalId: 'rel-1', memberId: MEMBER, holdId: 'shop:h-1', occurredAt: NOW.toISOString(), ...data },
  context: CTX,
});

const lapseHold = (): LapseHold => ({ type: 'LapseHold', data: { memberId: MEMBER, holdId: 'shop:h-1' } });

const redeem = (points: number, partnerId = 'cafe'): RedeemPoints => ({
  type: 'RedeemPoints',
  data: { partnerId, externalId: 'x-1', memberId: MEMBER, points, occurredAt: AT },
  context: CTX,
});

const slice = (lotId: string, points: number): LotSlice => ({ lotId, issuerPartnerId: lotId.split(':')[0], points });

const redeemedAtCapture = (points: number, slices: LotSlice[], externalId = 'cap-1'): PointsRedeemed => ({
  type: 'PointsRedeemed',
  data: {
    txId: `shop:${externalId}`,
    partnerId: 'shop',
    externalId,
    memberId: MEMBER,
    points,
    pointValueMinor: 10,
    currency: 'RUB',
    slices,
    occurredAt: AT,
  },
});

const captured = (points: number, releasedPoints: number, externalId = 'cap-1'): HoldCaptured => ({
  type: 'HoldCaptured',
  data: {
    txId: `shop:${externalId}`,
    holdId: 'shop:h-1',
    partnerId: 'shop',
    externalId,
    memberId: MEMBER,
    points,
    releasedPoints,
    occurredAt: AT,
  },
});

const released = (points: number): HoldReleased => ({
  type: 'HoldReleased',
  data: {
    txId: 'shop:rel-1',
    holdId: 'shop:h-1',
    partnerId: 'shop',
    externalId: 'rel-1',
    memberId: MEMBER,
    points,
    reason: 'released',
    occurredAt: NOW.toISOString(),
  },
});

const lapsed = (points: number): HoldReleased => ({
  type: 'HoldReleased',
  data: {
    txId: null,
    holdId: 'shop:h-1',
    partnerId: 'shop',
    externalId: null,
    memberId: MEMBER,
    points,
    reason: 'expired',
    occurredAt: '2026-11-20T12:10:00.000Z',
  },
});

describe('member holds', () => {
  describe('PlaceHold', () => {
    it('holds the points until the clock plus the TTL, choosing no lot yet', () =>
      given(twoLots())
        .when(placeHold())
        .then([held(120)]));

    it('takes the held points off what the member can spend, at once', () =>
      given(twoLots())
        .when(placeHold())
        .thenState((state) => {
          expect(state).toMatchObject({ available: 150, held: 120 });
          expect(state.transactions.get('shop:h-1')).toMatchObject({ kind: 'hold', points: 120, balanceAfter: 30 });
        }));

    it('refuses more than the member has available', () =>
      given(twoLots())
        .when(placeHold({ points: 151 }))
        .thenThrows(Refused, 'insufficient_points'));

    it('never holds points another live hold keeps', () =>
      given([...twoLots(), held(120)])
        .when(placeHold({ externalId: 'h-2', points: 31 }))
        .thenThrows(Refused, 'insufficient_points'));

    it('writes nothing for a retry with the same payload', () =>
      given([...twoLots(), held(120)])
        .when(placeHold())
        .thenNothingHappened());

    it('refuses the same receipt with another amount', () =>
      given([...twoLots(), held(120)])
        .when(placeHold({ points: 121 }))
        .thenThrows(Conflict, 'idempotency_conflict'));

    it('asserts the TTL was validated upstream', () =>
      given(twoLots())
        .when(placeHold({ ttlSeconds: 0 }))
        .thenThrows(AssertionFailed));
  });

  describe('a redemption while a hold is live', () => {
    it('never spends held points', () =>
      given([...twoLots(), held(120)])
        .when(redeem(31))
        .thenThrows(Refused, 'insufficient_points'));

    it('spends what is not held', () =>
      given([...twoLots(), held(120)])
        .when(redeem(30))
        .then([redeemedAt('cafe', 30, [slice('grocer:r-1', 30)])]));

    it('spends the points of a hold past its expiry, before any lapse is recorded', () =>
      later([...twoLots(), held(120)])
        .when(redeem(150))
        .then([redeemedAt('cafe', 150, [slice('grocer:r-1', 100), slice('cafe:c-1', 50)])]));
  });

  describe('CaptureHold', () => {
    it('redeems all the hold at the holding partner, lots chosen first-in-first-out at capture', () =>
      given([...twoLots(), held(120)])
        .when(captureHold())
        .then([redeemedAtCapture(120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)]), captured(120, 0)]));

    it('redeems part of the hold and releases the rest', () =>
      given([...twoLots(), held(120)])
        .when(captureHold({ points: 70 }))
        .then([redeemedAtCapture(70, [slice('grocer:r-1', 70)]), captured(70, 50)]));

    it('ends the hold: nothing held, the rest spendable again', () =>
      given([...twoLots(), held(120)])
        .when(captureHold({ points: 70 }))
        .thenState((state) => {
          expect(state).toMatchObject({ available: 80, held: 0 });
          expect(state.holds.get('shop:h-1')?.status).toBe('captured');
          expect(state.transactions.get('shop:cap-1')).toMatchObject({ kind: 'hold_capture', points: 70, balanceAfter: 80 });
        }));

    it('refuses more than the hold keeps', () =>
      given([...twoLots(), held(120)])
        .when(captureHold({ points: 121 }))
        .thenThrows(Refused, 'exceeds_hold'));

    it('refuses a hold past its expiry, lapse recorded or not', () =>
      later([...twoLots(), held(120)])
        .when(captureHold())
        .thenThrows(Conflict, 'hold_expired'));

    it('refuses a hold already released', () =>
      given([...twoLots(), held(120), released(120)])
        .when(captureHold())
        .thenThrows(Conflict, 'hold_closed'));

    it('refuses a hold already lapsed', () =>
      later([...twoLots(), held(120), lapsed(120)])
        .when(captureHold())
        .thenThrows(Conflict, 'hold_closed'));

    it('refuses a second capture under another receipt id', () =>
      given([...twoLots(), held(120), redeemedAtCapture(120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)]), captured(120, 0)])
        .when(captureHold({ externalId: 'cap-2' }))
        .thenThrows(Conflict, 'hold_closed'));

    it("answers another partner's hold as unknown", () =>
      given([...twoLots(), held(120)])
        .when(captureHold({ partnerId: 'cafe' }))
        .thenThrows(NotFound, 'hold_not_found'));

    it('refuses an unknown hold', () =>
      given([...twoLots(), held(120)])
        .when(captureHold({ holdId: 'shop:nope' }))
        .thenThrows(NotFound, 'hold_not_found'));

    describe('retried', () => {
      const capturedAll = (): MemberEvent[] => [
        ...twoLots(),
        held(120),
        redeemedAtCapture(120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)]),
        captured(120, 0),
      ];

      it('writes nothing, naming all or the amount alike', () => {
        given(capturedAll()).when(captureHold()).thenNothingHappened();
        given(capturedAll())
          .when(captureHold({ points: 120 }))
          .thenNothingHappened();
      });

      it('refuses the same receipt with another amount', () =>
        given(capturedAll())
          .when(captureHold({ points: 100 }))
          .thenThrows(Conflict, 'idempotency_conflict'));

      it('is cancelled like a redemption: the slices go back', () =>
        given(capturedAll())
          .when(reverseCapture())
          .then([
            {
              type: 'RedemptionReversed',
              data: {
                txId: 'shop:refund-1',
                partnerId: 'shop',
                externalId: 'refund-1',
                memberId: MEMBER,
                originalTxId: 'shop:cap-1',
                originalOccurredAt: AT,
                points: 120,
                pointValueMinor: 10,
                currency: 'RUB',
                slices: [slice('grocer:r-1', 100), slice('cafe:c-1', 20)],
                occurredAt: AT,
              },
            },
          ]));
    });
  });

  describe('ReleaseHold', () => {
    it('gives all the points back', () =>
      given([...twoLots(), held(120)])
        .when(releaseHold())
        .then([released(120)]));

    it('leaves nothing held', () =>
      given([...twoLots(), held(120)])
        .when(releaseHold())
        .thenState((state) => expect(state).toMatchObject({ available: 150, held: 0 })));

    it('refuses a hold already captured', () =>
      given([...twoLots(), held(120), redeemedAtCapture(120, [slice('grocer:r-1', 100), slice('cafe:c-1', 20)]), captured(120, 0)])
        .when(releaseHold())
        .thenThrows(Conflict, 'hold_closed'));

    it("answers another partner's hold as unknown", () =>
      given([...twoLots(), held(120)])
        .when(releaseHold({ partnerId: 'cafe' }))
        .thenThrows(NotFound, 'hold_not_found'));

    it('writes nothing for a retry, whatever the clock says now', () =>
      given([...twoLots(), held(120), released(120)])
        .when(releaseHold({ occurredAt: '2026-11-20T12:01:00.000Z' }))
        .thenNothingHappened());
  });

  describe('LapseHold', () => {
    it('records a due hold as expired, dated at its expiry', () =>
      later([...twoLots(), held(120)])
        .when(lapseHold())
        .then([lapsed(120)]));

    it('refuses a hold not yet due', () =>
      given([...twoLots(), held(120)])
        .when(lapseHold())
        .thenThrows(Conflict, 'hold_not_expired'));

    it('writes nothing for a hold already ended, so two jobs racing write one event', () =>
      later([...twoLots(), held(120), lapsed(120)])
        .when(lapseHold())
        .thenNothingHappened());
  });

  it('a refund never takes back points a live hold keeps', () =>
    given([enrolled(), accrued('grocer', 'r-1', 100, '2027-06-01T10:00:00.000Z'), held(10)])
      .when(refund())
      .thenThrows(Refused, 'points_held'));

  describe('a hold never outlives the lots that cover it (found by the lifecycle properties)', () => {
    // grocer's 100 points expire tomorrow, cafe's 100 in 40 days.
    const soonAndLate = (): MemberEvent[] => [
      enrolled(),
      accrued('grocer', 'r-1', 100, '2026-11-21T12:00:00.000Z'),
      accrued('cafe', 'c-1', 100, '2026-12-30T12:00:00.000Z'),
    ];
    const DAY = 24 * 3600;

    it('refuses a hold whose points would expire before it does', () =>
      given(soonAndLate())
        .when(placeHold({ points: 101, ttlSeconds: 2 * DAY }))
        .thenThrows(Refused, 'insufficient_points'));

    it('accepts the same hold when it lapses before those lots expire', () =>
      given(soonAndLate())
        .when(placeHold({ points: 101, ttlSeconds: 3600 }))
        .then([held(101, { ttlSeconds: 3600, expiresAt: '2026-11-20T13:00:00.000Z' })]));

    it('accepts a long hold that the later lot covers alone', () =>
      given(soonAndLate())
        .when(placeHold({ points: 100, ttlSeconds: 2 * DAY }))
        .then([held(100, { ttlSeconds: 2 * DAY, expiresAt: '2026-11-22T12:00:00.000Z' })]));

    it('refuses a refund that leaves a live hold covered now but not once the other lot expires', () =>
      given([...soonAndLate(), held(100, { ttlSeconds: 2 * DAY, expiresAt: '2026-11-22T12:00:00.000Z' })])
        .when({ ...refund(), data: { ...refund().data, partnerId: 'cafe', originalExternalId: 'c-1' } })
        .thenThrows(Refused, 'points_held'));

    it('lets a redemption spend the lot about to expire, the later one still covering the hold', () =>
      given([...soonAndLate(), held(100, { ttlSeconds: 2 * DAY, expiresAt: '2026-11-22T12:00:00.000Z' })])
        .when(redeem(100))
        .then([redeemedAt('cafe', 100, [slice('grocer:r-1', 100)])]));

    it('refuses a backdated hold on a lot expired by the clock', () =>
      given([enrolled(), accrued('grocer', 'r-1', 100, '2026-11-20T11:00:00.000Z')])
        .when(placeHold({ points: 10, occurredAt: '2026-11-20T10:00:00.000Z' }))
        .thenThrows(Refused, 'insufficient_points'));
  });

  it('asserts a hold ends once', () => {
    expect(() => given([...twoLots(), held(120), released(120), released(120)]).state()).toThrow(AssertionFailed);
  });
});

function redeemedAt(partnerId: string, points: number, slices: LotSlice[]): PointsRedeemed {
  return {
    type: 'PointsRedeemed',
    data: {
      txId: `${partnerId}:x-1`,
      partnerId,
      externalId: 'x-1',
      memberId: MEMBER,
      points,
      pointValueMinor: 10,
      currency: 'RUB',
      slices,
      occurredAt: AT,
    },
  };
}

function reverseCapture(): ReverseTransaction {
  return {
    type: 'ReverseTransaction',
    data: { partnerId: 'shop', externalId: 'refund-1', memberId: MEMBER, originalExternalId: 'cap-1', occurredAt: AT },
    context: CTX,
  };
}

function refund(): ReverseTransaction {
  return {
    type: 'ReverseTransaction',
    data: { partnerId: 'grocer', externalId: 'refund-1', memberId: MEMBER, originalExternalId: 'r-1', occurredAt: AT },
    context: CTX,
  };
}
