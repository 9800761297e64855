import { deciderSpec } from '@ledger/testing/decider-spec';
import { InvalidInput, NotFound, Refused } from '../shared/errors';
import { ExpireDueLots, RedeemPoints, TxContext } from './member.commands';
import { availableAt } from './member.spending';
import { decideMember } from './member.decide';
import { MemberEvent, PointsAccrued, PointsExpired, PointsHeld, PointsRedeemed } from './member.events';
import { evolveMember, initialMember } from './member.state';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const MEMBER = 'm-1';
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
const given = deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now: NOW });

const GROCER_EXPIRY = '2026-11-01T10:00:00.000Z'; // past at NOW
const CAFE_EXPIRY = '2026-11-10T08:00:00.000Z'; // past at NOW, later than grocer's
const SHOP_EXPIRY = '2027-03-01T10:00:00.000Z'; // still live at NOW

const enrolled = (): MemberEvent => ({
  type: 'MemberEnrolled',
  data: { memberId: MEMBER, cardNumber: '4111111111111111', birthDate: null, enrolledBy: null, occurredAt: '2025-08-01T09:00:00.000Z' },
});

const accrued = (partnerId: string, externalId: string, points: number, expiresAt: string, pointValueMinor = 10): PointsAccrued => ({
  type: 'PointsAccrued',
  data: {
    txId: `${partnerId}:${externalId}`,
    partnerId,
    externalId,
    memberId: MEMBER,
    amountMinor: points * 100,
    currency: 'RUB',
    points,
    pointValueMinor,
    lotId: `${partnerId}:${externalId}`,
    issuerPartnerId: partnerId,
    expiresAt,
    occurredAt: '2025-11-01T10:00:00.000Z',
  },
});

const redeemed = (points: number, slices: PointsRedeemed['data']['slices']): PointsRedeemed => ({
  type: 'PointsRedeemed',
  data: {
    txId: 'shop:r-1',
    partnerId: 'shop',
    externalId: 'r-1',
    memberId: MEMBER,
    points,
    pointValueMinor: 10,
    currency: 'RUB',
    slices,
    occurredAt: '2026-10-01T10:00:00.000Z',
  },
});

const expired = (lotId: string, issuerPartnerId: string, points: number, occurredAt: string, pointValueMinor = 10): PointsExpired => ({
  type: 'PointsExpired',
  data: { memberId: MEMBER, lotId, issuerPartnerId, points, pointValueMinor, currency: 'RUB', occurredAt },
});

const expireDue = (until = NOW.toISOString()): ExpireDueLots => ({
  type: 'ExpireDueLots',
  data: { memberId: MEMBER, until },
  context: { coalitionCurrency: 'RUB' },
});

/** grocer 100 (expired, partly spent), cafe 40 (expired, issued at another value), shop 70 (live). */
const threeLots = (): MemberEvent[] => [
  enrolled(),
  accrued('cafe', 'c-1', 40, CAFE_EXPIRY, 12),
  accrued('grocer', 'g-1', 100, GROCER_EXPIRY),
  accrued('shop', 's-1', 70, SHOP_EXPIRY),
  redeemed(30, [{ lotId: 'grocer:g-1', issuerPartnerId: 'grocer', points: 30 }]),
];

describe('member: expiry of lots', () => {
  it('given lots past their expiry, when the due lots expire, then each unspent rest lapses once, oldest expiry first, dated at its expiry', () => {
    given(threeLots())
      .when(expireDue())
      .then([expired('grocer:g-1', 'grocer', 70, GROCER_EXPIRY), expired('cafe:c-1', 'cafe', 40, CAFE_EXPIRY, 12)]);
  });

  it('given the lapse already recorded, when the due lots expire again, then nothing happens (two jobs write one event)', () => {
    given([...threeLots(), expired('grocer:g-1', 'grocer', 70, GROCER_EXPIRY), expired('cafe:c-1', 'cafe', 40, CAFE_EXPIRY, 12)])
      .when(expireDue())
      .thenNothingHappened();
  });

  it('given one lot already lapsed, when the due lots expire, then only the other lapses (a crashed run resumes)', () => {
    given([...threeLots(), expired('grocer:g-1', 'grocer', 70, GROCER_EXPIRY)])
      .when(expireDue())
      .then([expired('cafe:c-1', 'cafe', 40, CAFE_EXPIRY, 12)]);
  });

  it('given an expired lot spent in full, when the due lots expire, then nothing lapses from it', () => {
    given([
      enrolled(),
      accrued('grocer', 'g-1', 50, GROCER_EXPIRY),
      redeemed(50, [{ lotId: 'grocer:g-1', issuerPartnerId: 'grocer', points: 50 }]),
    ])
      .when(expireDue())
      .thenNothingHappened();
  });

  it('given lots due after `until`, when the due lots expire up to it, then only the lots due by then lapse', () => {
    given(threeLots())
      .when(expireDue('2026-11-05T00:00:00.000Z'))
      .then([expired('grocer:g-1', 'grocer', 70, GROCER_EXPIRY)]);
  });

  it('given a lot expiring exactly at `until`, when the due lots expire, then it lapses (a lot is spendable strictly before its expiry)', () => {
    given(threeLots())
      .when(expireDue(GROCER_EXPIRY))
      .then([expired('grocer:g-1', 'grocer', 70, GROCER_EXPIRY)]);
  });

  it('given lapsed lots, then the member keeps the live lot only and counts the breakage in lifetimeExpired', () => {
    given(threeLots())
      .when(expireDue())
      .thenState((s) => {
        expect(s.lots.map((l) => l.lotId)).toEqual(['shop:s-1']);
        expect(s.available).toBe(70);
        expect(s.lifetimeExpired).toBe(110);
      });
  });

  it('when `until` is after the clock, then it is refused: a lot never lapses early', () => {
    given(threeLots()).when(expireDue('2026-11-20T12:00:01.000Z')).thenThrows(InvalidInput);
  });

  it('when `until` is no date, then it is refused naming the field', () => {
    given(threeLots())
      .when(expireDue('soon'))
      .thenThrows((e) => e instanceof InvalidInput && e.details?.[0]?.field === 'until');
  });

  it('given no member, when the due lots expire, then 404', () => {
    given([]).when(expireDue()).thenThrows(NotFound);
  });

  it('given a partial reversal that lapsed its slice into an expired lot, when the due lots expire, then only the rest of other lots lapses', () => {
    given([
      enrolled(),
      accrued('grocer', 'g-1', 50, GROCER_EXPIRY),
      accrued('shop', 's-1', 70, SHOP_EXPIRY),
      redeemed(50, [{ lotId: 'grocer:g-1', issuerPartnerId: 'grocer', points: 50 }]),
      {
        type: 'RedemptionReversed',
        data: {
          txId: 'shop:rv-1',
          partnerId: 'shop',
          externalId: 'rv-1',
          memberId: MEMBER,
          originalTxId: 'shop:r-1',
          originalOccurredAt: '2026-10-01T10:00:00.000Z',
          points: 20,
          pointValueMinor: 10,
          currency: 'RUB',
          slices: [{ lotId: 'grocer:g-1', issuerPartnerId: 'grocer', points: 20 }],
          occurredAt: '2026-11-19T10:00:00.000Z',
        },
      },
      {
        ...expired('grocer:g-1', 'grocer', 20, GROCER_EXPIRY),
        data: { ...expired('grocer:g-1', 'grocer', 20, GROCER_EXPIRY).data, txId: 'shop:rv-1' },
      },
    ])
      .when(expireDue())
      .thenNothingHappened();
  });
});

describe('member: an expired lot before its lapse is recorded', () => {
  const redeem = (points: number): RedeemPoints => ({
    type: 'RedeemPoints',
    data: { partnerId: 'shop', externalId: 'r-2', memberId: MEMBER, points, occurredAt: '2026-11-20T11:00:00.000Z' },
    context: CTX,
  });

  it('is not spent by a redemption: 422 beyond the live lots', () => {
    given(threeLots()).when(redeem(71)).thenThrows(Refused, 'insufficient_points');
  });

  it('is not counted in available at the clock, nor in a transaction’s answer', () => {
    given(threeLots())
      .when(redeem(20))
      .thenState((s) => {
        expect(availableAt(s, NOW)).toBe(50);
        expect(s.transactions.get('shop:r-2')?.balanceAfter).toBe(50);
      });
  });

  it('available at a moment counts a lot until its expiry and subtracts live holds only', () => {
    const hold: PointsHeld = {
      type: 'PointsHeld',
      data: {
        txId: 'shop:h-1',
        holdId: 'shop:h-1',
        partnerId: 'shop',
        externalId: 'h-1',
        memberId: MEMBER,
        points: 60,
        ttlSeconds: 600,
        expiresAt: '2026-11-20T12:10:00.000Z',
        occurredAt: '2026-11-20T12:00:00.000Z',
      },
    };
    const state = given([...threeLots(), hold]).state();
    expect(availableAt(state, new Date('2026-10-31T00:00:00.000Z'))).toBe(70 + 40 + 70 - 60);
    expect(availableAt(state, new Date('2026-11-05T00:00:00.000Z'))).toBe(40 + 70 - 60);
    expect(availableAt(state, NOW)).toBe(70 - 60);
    // Past the hold's own expiry it keeps nothing.
    expect(availableAt(state, new Date('2026-11-20T12:10:00.000Z'))).toBe(70);
  });
});
