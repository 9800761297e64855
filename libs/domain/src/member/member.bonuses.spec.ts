import { deciderSpec } from '@ledger/testing/decider-spec';
import { Conflict, InvalidInput, NotFound, Refused } from '../shared/errors';
import { AccruePoints, AwardBonus, TxContext } from './member.commands';
import { birthdayBonusTxId, decideMember, referralBonusTxId, welcomeBonusTxId } from './member.decide';
import { BonusAwarded, MemberEvent, PointsAccrued } from './member.events';
import { evolveMember, initialMember } from './member.state';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decideMember, evolve: evolveMember, initialState: initialMember, now: NOW });
const MEMBER = 'm-1';
const CARD = '4111111111111111';
const CTX: TxContext = { coalitionCurrency: 'RUB', pointValueMinor: 10, expiryMonths: 12, maxBackdateDays: 90 };
const EARN = { pointsPerUnit: 1, unitMinor: 100 };

const enrolled = (referredBy?: string): MemberEvent => ({
  type: 'MemberEnrolled',
  data: {
    memberId: MEMBER,
    cardNumber: CARD,
    birthDate: '1990-11-20',
    enrolledBy: 'grocer',
    occurredAt: '2026-08-01T09:00:00.000Z',
    ...(referredBy ? { referredBy } : {}),
  },
});

const bonus = (
  over: Partial<BonusAwarded['data']> & Pick<BonusAwarded['data'], 'txId' | 'kind' | 'points' | 'occurredAt'>,
): BonusAwarded => ({
  type: 'BonusAwarded',
  data: {
    partnerId: 'operator',
    externalId: null,
    memberId: MEMBER,
    pointValueMinor: 10,
    currency: 'RUB',
    lotId: over.txId,
    issuerPartnerId: 'operator',
    expiresAt: new Date(
      Date.UTC(
        Number(over.occurredAt.slice(0, 4)) + 1,
        Number(over.occurredAt.slice(5, 7)) - 1,
        Number(over.occurredAt.slice(8, 10)),
        Number(over.occurredAt.slice(11, 13)),
        Number(over.occurredAt.slice(14, 16)),
      ),
    ).toISOString(),
    reason: over.kind,
    ...over,
  },
});

const surprise = (externalId: string, points: number, by = 'cafe', reason = 'sorry for the wait'): AwardBonus => ({
  type: 'AwardBonus',
  data: {
    txId: `${by}:${externalId}`,
    kind: 'surprise',
    partnerId: by,
    externalId,
    memberId: MEMBER,
    points,
    sponsor: by,
    reason,
    occurredAt: NOW.toISOString(),
  },
  context: CTX,
});

const action = (externalId: string, occurredAt: string, cap = 2): AwardBonus => ({
  type: 'AwardBonus',
  data: {
    txId: `grocer:${externalId}`,
    kind: 'action',
    partnerId: 'grocer',
    externalId,
    memberId: MEMBER,
    points: 50,
    sponsor: 'grocer',
    reason: 'review',
    occurredAt,
  },
  context: { ...CTX, capPerMonth: cap },
});

const accrue = (externalId: string, amountMinor: number, referral?: { points: number; sponsor: string }): AccruePoints => ({
  type: 'AccruePoints',
  data: { partnerId: 'grocer', externalId, memberId: MEMBER, amountMinor, currency: 'RUB', occurredAt: '2026-11-20T11:00:00.000Z' },
  context: { ...CTX, earnRule: EARN, ...(referral ? { referral } : {}) },
});

describe('bonuses (BonusAwarded): a lot issued by its sponsor', () => {
  it('given a member, when a partner gives a surprise, then a lot of its points is issued by that partner, dated by the clock', () => {
    given([enrolled()])
      .when(surprise('s-1', 300))
      .then([
        bonus({
          txId: 'cafe:s-1',
          kind: 'surprise',
          points: 300,
          occurredAt: NOW.toISOString(),
          partnerId: 'cafe',
          externalId: 's-1',
          issuerPartnerId: 'cafe',
          reason: 'sorry for the wait',
        }),
      ]);
  });

  it('given a surprise given, when it is posted again, then nothing is decided; another payload under its id is a conflict', () => {
    const first = bonus({
      txId: 'cafe:s-1',
      kind: 'surprise',
      points: 300,
      occurredAt: NOW.toISOString(),
      partnerId: 'cafe',
      externalId: 's-1',
      issuerPartnerId: 'cafe',
      reason: 'sorry for the wait',
    });
    given([enrolled(), first]).when(surprise('s-1', 300)).thenNothingHappened();
    given([enrolled(), first]).when(surprise('s-1', 301)).thenThrows(Conflict, 'idempotency_conflict');
  });

  it('given no member, when a bonus is given, then the member is not found', () => {
    given([]).when(surprise('s-1', 300)).thenThrows(NotFound, 'member_not_found');
  });

  it('given an operator bonus, when the member redeems, then the bonus lot is spent first-in-first-out with its issuer on the slice', () => {
    const op = bonus({ txId: 'operator:s-1', kind: 'surprise', points: 100, occurredAt: '2026-11-01T10:00:00.000Z' });
    given([enrolled(), op])
      .when({
        type: 'RedeemPoints',
        data: { partnerId: 'cafe', externalId: 'r-1', memberId: MEMBER, points: 40, occurredAt: '2026-11-20T11:00:00.000Z' },
        context: CTX,
      })
      .thenState((s) => {
        expect(s.available).toBe(60);
        expect(s.transactions.get('cafe:r-1')?.slices).toEqual([{ lotId: 'operator:s-1', issuerPartnerId: 'operator', points: 40 }]);
      });
  });

  it('given a bonus past its expiry, when due lots are expired, then its rest lapses as breakage of its sponsor', () => {
    const op = bonus({ txId: 'operator:s-1', kind: 'surprise', points: 100, occurredAt: '2025-10-01T10:00:00.000Z' });
    given([enrolled(), op])
      .when({ type: 'ExpireDueLots', data: { memberId: MEMBER, until: NOW.toISOString() }, context: { coalitionCurrency: 'RUB' } })
      .then([
        {
          type: 'PointsExpired',
          data: {
            memberId: MEMBER,
            lotId: 'operator:s-1',
            issuerPartnerId: 'operator',
            points: 100,
            pointValueMinor: 10,
            currency: 'RUB',
            occurredAt: op.data.expiresAt,
          },
        },
      ]);
  });

  it('given a blocked card, when a surprise is given, then it is refused with card_blocked', () => {
    const blocked: MemberEvent = {
      type: 'CardBlocked',
      data: { memberId: MEMBER, cardNumber: CARD, reason: 'x', blockedBy: 'grocer', occurredAt: NOW.toISOString() },
    };
    given([enrolled(), blocked]).when(surprise('s-1', 10)).thenThrows(Refused, 'card_blocked');
  });
});

describe('action bonuses: capped per member per calendar month', () => {
  it('given one review rewarded this month and a cap of 2, when another is posted, then it is rewarded', () => {
    const first = bonus({
      txId: 'grocer:a-1',
      kind: 'action',
      points: 50,
      occurredAt: '2026-11-02T10:00:00.000Z',
      partnerId: 'grocer',
      externalId: 'a-1',
      issuerPartnerId: 'grocer',
      reason: 'review',
    });
    given([enrolled(), first])
      .when(action('a-2', '2026-11-19T10:00:00.000Z'))
      .then([
        bonus({
          txId: 'grocer:a-2',
          kind: 'action',
          points: 50,
          occurredAt: '2026-11-19T10:00:00.000Z',
          partnerId: 'grocer',
          externalId: 'a-2',
          issuerPartnerId: 'grocer',
          reason: 'review',
        }),
      ]);
  });

  it('given two reviews rewarded this month and a cap of 2, when a third is posted, then cap_reached; one in the month before does not count', () => {
    const at = (id: string, date: string) =>
      bonus({
        txId: `grocer:${id}`,
        kind: 'action',
        points: 50,
        occurredAt: date,
        partnerId: 'grocer',
        externalId: id,
        issuerPartnerId: 'grocer',
        reason: 'review',
      });
    const history = [
      enrolled(),
      at('a-0', '2026-10-31T23:00:00.000Z'),
      at('a-1', '2026-11-01T00:00:00.000Z'),
      at('a-2', '2026-11-10T00:00:00.000Z'),
    ];
    given(history).when(action('a-3', '2026-11-19T10:00:00.000Z')).thenThrows(Refused, 'cap_reached');
    // The retry of one rewarded is answered, not counted against the cap.
    given(history).when(action('a-2', '2026-11-10T00:00:00.000Z')).thenNothingHappened();
  });
});

describe('welcome, referral and birthday bonuses', () => {
  it('given no member, when one enrols under a programme with a welcome bonus, then the bonus comes in the same decision', () => {
    given([])
      .when({
        type: 'EnrolMember',
        data: { memberId: MEMBER, cardNumber: CARD, birthDate: null, enrolledBy: 'grocer' },
        context: { ...CTX, welcome: { points: 100, sponsor: 'operator' } },
      })
      .then([
        {
          type: 'MemberEnrolled',
          data: { memberId: MEMBER, cardNumber: CARD, birthDate: null, enrolledBy: 'grocer', occurredAt: NOW.toISOString() },
        },
        bonus({
          txId: welcomeBonusTxId(MEMBER),
          kind: 'welcome',
          points: 100,
          occurredAt: NOW.toISOString(),
          partnerId: 'grocer',
          reason: 'welcome',
        }),
      ]);
  });

  it('given no member, when one enrols referring itself, then referredBy is refused', () => {
    given([])
      .when({ type: 'EnrolMember', data: { memberId: MEMBER, cardNumber: CARD, birthDate: null, enrolledBy: null, referredBy: MEMBER } })
      .thenThrows(InvalidInput, 'self_referral');
  });

  it('given a referred member, when the first purchase is posted, then the referral bonus comes with it; the second purchase brings none', () => {
    const referral = bonus({
      txId: referralBonusTxId(MEMBER),
      kind: 'referral',
      points: 200,
      occurredAt: '2026-11-20T11:00:00.000Z',
      issuerPartnerId: 'cafe',
      reason: 'm-0',
    });
    given([enrolled('m-0')])
      .when(accrue('p-1', 10_000, { points: 200, sponsor: 'cafe' }))
      .thenState((s) => {
        expect(s.transactions.get(referralBonusTxId(MEMBER))?.points).toBe(200);
        expect(s.firstPurchaseTxId).toBe('grocer:p-1');
        expect(s.available).toBe(300);
      });
    const first: PointsAccrued = {
      type: 'PointsAccrued',
      data: {
        txId: 'grocer:p-1',
        partnerId: 'grocer',
        externalId: 'p-1',
        memberId: MEMBER,
        amountMinor: 10_000,
        currency: 'RUB',
        points: 100,
        pointValueMinor: 10,
        lotId: 'grocer:p-1',
        issuerPartnerId: 'grocer',
        expiresAt: '2027-11-20T11:00:00.000Z',
        occurredAt: '2026-11-20T11:00:00.000Z',
      },
    };
    given([enrolled('m-0'), referral, first])
      .when(accrue('p-2', 10_000, { points: 200, sponsor: 'cafe' }))
      .thenState((s) => expect(s.available).toBe(400));
  });

  it('given a member not referred, when the first purchase is posted, then no referral bonus', () => {
    given([enrolled()])
      .when(accrue('p-1', 10_000, { points: 200, sponsor: 'cafe' }))
      .thenState((s) => expect(s.available).toBe(100));
  });

  it('given this year’s birthday bonus, when the job gives it again, then nothing is written', () => {
    const birthday = (occurredAt: string): AwardBonus => ({
      type: 'AwardBonus',
      data: {
        txId: birthdayBonusTxId(MEMBER, 2026),
        kind: 'birthday',
        partnerId: 'operator',
        externalId: null,
        memberId: MEMBER,
        points: 150,
        sponsor: 'operator',
        reason: '2026',
        occurredAt,
      },
      context: CTX,
    });
    const given2026 = bonus({
      txId: birthdayBonusTxId(MEMBER, 2026),
      kind: 'birthday',
      points: 150,
      occurredAt: '2026-11-20T00:05:00.000Z',
      reason: '2026',
    });
    given([enrolled()]).when(birthday('2026-11-20T00:05:00.000Z')).then([given2026]);
    // A second run (later that day) is the same bonus: nothing.
    given([enrolled(), given2026]).when(birthday('2026-11-20T00:05:00.000Z')).thenNothingHappened();
  });
});
