import { deciderSpec } from '@ledger/testing/decider-spec';
import { InvalidInput, NotFound, Refused } from '../shared/errors';
import { VelocityLimits } from '../program/program';
import { AccruePoints, MemberCommand, TxContext } from './member.commands';
import { VelocityLimitExceeded, decideMember } from './member.decide';
import { MemberEvent, PointsAccrued } from './member.events';
import { evolveMember, initialMember } from './member.state';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now: NOW });
const MEMBER = 'm-1';
const CARD = '4111111111111111';
const NEW_CARD = '4000000000000002';
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
const EARN = { pointsPerUnit: 1, unitMinor: 100 };

const enrolled: MemberEvent = {
  type: 'MemberEnrolled',
  data: { memberId: MEMBER, cardNumber: CARD, birthDate: null, enrolledBy: 'grocer', occurredAt: '2026-08-01T09:00:00.000Z' },
};

const accrued = (externalId: string, points: number, occurredAt: string): PointsAccrued => ({
  type: 'PointsAccrued',
  data: {
    txId: `grocer:${externalId}`,
    partnerId: 'grocer',
    externalId,
    memberId: MEMBER,
    amountMinor: points * 100,
    currency: 'RUB',
    points,
    pointValueMinor: 10,
    lotId: `grocer:${externalId}`,
    issuerPartnerId: 'grocer',
    expiresAt: '2027-11-20T11:00:00.000Z',
    occurredAt,
  },
});

const blocked: MemberEvent = {
  type: 'CardBlocked',
  data: { memberId: MEMBER, cardNumber: CARD, reason: 'card number sold online', blockedBy: 'grocer', occurredAt: NOW.toISOString() },
};

const accrue = (
  externalId: string,
  amountMinor: number,
  occurredAt = '2026-11-20T11:30:00.000Z',
  limits?: VelocityLimits,
): AccruePoints => ({
  type: 'AccruePoints',
  data: { partnerId: 'grocer', externalId, memberId: MEMBER, amountMinor, currency: 'RUB', occurredAt },
  context: { ...CTX, earnRule: EARN, ...(limits ? { limits } : {}) },
});

const AT = '2026-11-20T11:30:00.000Z';
const commands: Record<string, MemberCommand> = {
  accrual: accrue('a-9', 1_000),
  redemption: {
    type: 'RedeemPoints',
    data: { partnerId: 'cafe', externalId: 'r-9', memberId: MEMBER, points: 5, occurredAt: AT },
    context: CTX,
  },
  hold: {
    type: 'PlaceHold',
    data: { partnerId: 'shop', externalId: 'h-9', memberId: MEMBER, points: 5, ttlSeconds: 600, occurredAt: AT },
    context: CTX,
  },
};

describe('fraud controls: a blocked card', () => {
  it('given a member, when the card is blocked, then CardBlocked is recorded at the clock time', () => {
    given([enrolled])
      .when({ type: 'BlockCard', data: { memberId: MEMBER, cardNumber: CARD, reason: 'card number sold online', blockedBy: 'grocer' } })
      .then([blocked]);
  });

  it('given a blocked card, when it is blocked again, then nothing is recorded', () => {
    given([enrolled, blocked])
      .when({ type: 'BlockCard', data: { memberId: MEMBER, cardNumber: CARD, reason: 'again', blockedBy: 'admin' } })
      .thenNothingHappened();
  });

  it('given a replaced card, when the old number is blocked, then it is not found (it is no longer the member’s)', () => {
    const replaced: MemberEvent = {
      type: 'CardReplaced',
      data: { memberId: MEMBER, previousCardNumber: CARD, cardNumber: NEW_CARD, occurredAt: NOW.toISOString() },
    };
    given([enrolled, replaced])
      .when({ type: 'BlockCard', data: { memberId: MEMBER, cardNumber: CARD, reason: 'x', blockedBy: 'admin' } })
      .thenThrows(NotFound, 'card_not_found');
  });

  it.each(Object.keys(commands))('given a blocked card, when a %s is posted, then it is refused with card_blocked', (kind) => {
    given([enrolled, accrued('a-1', 100, '2026-11-01T10:00:00.000Z'), blocked])
      .when(commands[kind])
      .thenThrows(Refused, 'card_blocked');
  });

  it('given a blocked card, when a hold placed before the block is captured, then it is refused with card_blocked', () => {
    const held: MemberEvent = {
      type: 'PointsHeld',
      data: {
        txId: 'shop:h-1',
        holdId: 'shop:h-1',
        partnerId: 'shop',
        externalId: 'h-1',
        memberId: MEMBER,
        points: 5,
        ttlSeconds: 600,
        expiresAt: '2026-11-20T12:05:00.000Z',
        occurredAt: '2026-11-20T11:55:00.000Z',
      },
    };
    given([enrolled, accrued('a-1', 100, '2026-11-01T10:00:00.000Z'), held, blocked])
      .when({
        type: 'CaptureHold',
        data: { partnerId: 'shop', externalId: 'c-1', memberId: MEMBER, holdId: 'shop:h-1', points: null, occurredAt: AT },
        context: CTX,
      })
      .thenThrows(Refused, 'card_blocked');
  });

  it('given a blocked card, when an accrual is refunded, then the reversal goes through', () => {
    given([enrolled, accrued('a-1', 100, '2026-11-01T10:00:00.000Z'), blocked])
      .when({
        type: 'ReverseTransaction',
        data: { partnerId: 'grocer', externalId: 'rev-1', memberId: MEMBER, originalExternalId: 'a-1', occurredAt: AT },
        context: CTX,
      })
      .thenState((s) => expect(s.available).toBe(0));
  });

  it('given a blocked card, when an accrual posted before the block is retried, then it answers as before', () => {
    given([enrolled, accrued('a-1', 100, '2026-11-20T10:00:00.000Z'), blocked])
      .when(accrue('a-1', 10_000, '2026-11-20T10:00:00.000Z'))
      .thenNothingHappened();
  });

  it('given a blocked card with points, when a new card is issued, then the balance stays and the block ends', () => {
    const replace: MemberCommand = { type: 'ReplaceCard', data: { memberId: MEMBER, cardNumber: NEW_CARD } };
    const spec = given([enrolled, accrued('a-1', 100, '2026-11-01T10:00:00.000Z'), blocked]).when(replace);
    spec.then([
      { type: 'CardReplaced', data: { memberId: MEMBER, previousCardNumber: CARD, cardNumber: NEW_CARD, occurredAt: NOW.toISOString() } },
    ]);
    spec.thenState((s) =>
      expect({ card: s.cardNumber, blocked: s.cardBlocked, available: s.available }).toEqual({
        card: NEW_CARD,
        blocked: false,
        available: 100,
      }),
    );
  });

  it('given a replaced card, when the same replacement is asked again, then nothing is recorded', () => {
    const replaced: MemberEvent = {
      type: 'CardReplaced',
      data: { memberId: MEMBER, previousCardNumber: CARD, cardNumber: NEW_CARD, occurredAt: NOW.toISOString() },
    };
    given([enrolled, blocked, replaced])
      .when({ type: 'ReplaceCard', data: { memberId: MEMBER, cardNumber: NEW_CARD } })
      .thenNothingHappened();
  });

  it('refuses a replacement card that fails the Luhn check, naming cardNumber', () => {
    given([enrolled])
      .when({ type: 'ReplaceCard', data: { memberId: MEMBER, cardNumber: '4000000000000001' } })
      .thenThrows((e) => e instanceof InvalidInput && e.details[0].field === 'cardNumber');
  });
});

describe('fraud controls: velocity limits', () => {
  const limits: VelocityLimits = { maxAccrualsPerMemberPerHour: 2, maxPointsPerMemberPerDay: 500 };
  const flagOf = (error: unknown) => (error instanceof VelocityLimitExceeded ? error.flag : 'not a velocity refusal');

  it('given two accruals in an hour, when a third in that clock hour is posted, then it is refused and the attempt flagged', () => {
    let thrown: unknown;
    given([enrolled, accrued('a-1', 10, '2026-11-20T11:05:00.000Z'), accrued('a-2', 10, '2026-11-20T11:10:00.000Z')])
      .when(accrue('a-3', 1_000, '2026-11-20T11:59:00.000Z', limits))
      .thenThrows((e) => ((thrown = e), e instanceof VelocityLimitExceeded && e.code === 'velocity_limit'));
    expect(flagOf(thrown)).toEqual({
      type: 'SuspiciousActivityFlagged',
      data: {
        memberId: MEMBER,
        txId: 'grocer:a-3',
        partnerId: 'grocer',
        externalId: 'a-3',
        rule: 'max_accruals_per_hour',
        limit: 2,
        observed: 3,
        window: '2026-11-20T11',
        amountMinor: 1_000,
        points: 10,
        occurredAt: '2026-11-20T11:59:00.000Z',
      },
    });
  });

  it('given two accruals in the previous clock hour, when one is posted in the next, then it is accepted', () => {
    given([enrolled, accrued('a-1', 10, '2026-11-20T10:05:00.000Z'), accrued('a-2', 10, '2026-11-20T10:10:00.000Z')])
      .when(accrue('a-3', 1_000, '2026-11-20T11:00:00.000Z', limits))
      .thenState((s) => expect(s.available).toBe(30));
  });

  it('given 450 points today, when an accrual of 60 more is posted, then it is refused by the daily points limit', () => {
    let thrown: unknown;
    given([enrolled, accrued('a-1', 450, '2026-11-20T01:00:00.000Z')])
      .when(accrue('a-2', 6_000, AT, limits))
      .thenThrows((e) => ((thrown = e), e instanceof VelocityLimitExceeded));
    expect(flagOf(thrown)).toMatchObject({ data: { rule: 'max_points_per_day', limit: 500, observed: 510, window: '2026-11-20' } });
  });

  it('given 450 points today, when an accrual of exactly 50 more is posted, then it is accepted (the limit is inclusive)', () => {
    given([enrolled, accrued('a-1', 450, '2026-11-20T01:00:00.000Z')])
      .when(accrue('a-2', 5_000, AT, limits))
      .thenState((s) => expect(s.available).toBe(500));
  });

  it('given an attempt already flagged, when it is retried, then it is refused again without a second flag', () => {
    let thrown: unknown;
    const flagged: MemberEvent = {
      type: 'SuspiciousActivityFlagged',
      data: {
        memberId: MEMBER,
        txId: 'grocer:a-2',
        partnerId: 'grocer',
        externalId: 'a-2',
        rule: 'max_points_per_day',
        limit: 500,
        observed: 510,
        window: '2026-11-20',
        amountMinor: 6_000,
        points: 60,
        occurredAt: AT,
      },
    };
    given([enrolled, accrued('a-1', 450, '2026-11-20T01:00:00.000Z'), flagged])
      .when(accrue('a-2', 6_000, AT, limits))
      .thenThrows((e) => ((thrown = e), e instanceof VelocityLimitExceeded));
    expect(flagOf(thrown)).toBeUndefined();
  });

  it('without a programme in force, when many accruals are posted in an hour, then each is accepted', () => {
    given([enrolled, accrued('a-1', 10, '2026-11-20T11:05:00.000Z'), accrued('a-2', 10, '2026-11-20T11:10:00.000Z')])
      .when(accrue('a-3', 100_000, '2026-11-20T11:15:00.000Z'))
      .thenState((s) => expect(s.available).toBe(1_020));
  });
});
