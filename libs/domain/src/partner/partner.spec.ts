import { deciderSpec } from '@ledger/testing/decider-spec';
import { AssertionFailed, Conflict, InvalidInput } from '../shared/errors';
import { AMOUNT_MINOR_MAX } from '../shared/money';
import {
  PartnerCommand,
  PartnerEvent,
  PartnerTerms,
  decidePartner,
  evolvePartner,
  initialPartner,
  partnerStream,
  pointsEarned,
  termsAt,
} from './partner';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decidePartner, evolve: evolvePartner, initialState: initialPartner, now: NOW });

const TERMS_2025: PartnerTerms = {
  earnRule: { pointsPerUnit: 1, unitMinor: 10_000 },
  issuanceFeeBps: 250,
  breakageShareBps: 3_000,
  effectiveFrom: '1970-01-01T00:00:00.000Z',
};
const TERMS_OCT: PartnerTerms = {
  earnRule: { pointsPerUnit: 2, unitMinor: 10_000 },
  issuanceFeeBps: 300,
  breakageShareBps: 3_000,
  effectiveFrom: '2026-10-01T00:00:00.000Z',
};
const TERMS_DEC: PartnerTerms = {
  earnRule: { pointsPerUnit: 3, unitMinor: 10_000 },
  issuanceFeeBps: 350,
  breakageShareBps: 2_500,
  effectiveFrom: '2026-12-01T00:00:00.000Z',
};

const join = (): PartnerCommand => ({ type: 'JoinPartner', data: { partnerId: 'grocer', name: 'Grocer', ...TERMS_2025 } });
const joined = (): PartnerEvent => ({ type: 'PartnerJoined', data: { partnerId: 'grocer', name: 'Grocer', ...TERMS_2025 } });
const termsChanged = (terms: PartnerTerms): PartnerEvent => ({ type: 'PartnerTermsChanged', data: { partnerId: 'grocer', ...terms } });

describe('partner decider', () => {
  it('lives on a stream named after the partner', () => {
    expect(partnerStream('grocer')).toBe('partner-grocer');
  });

  describe('JoinPartner', () => {
    it('joins a new partner with its first terms', () => given([]).when(join()).then([joined()]));

    it('refuses a partner id already taken', () => given([joined()]).when(join()).thenThrows(Conflict, 'partner_exists'));

    it('refuses to re-join a suspended partner: suspension is not absence', () =>
      given([joined(), { type: 'PartnerSuspended', data: { partnerId: 'grocer', reason: 'audit' } }])
        .when(join())
        .thenThrows(Conflict, 'partner_exists'));

    it.each([null, -1, 10_001, 1.5, '100'])('refuses a rate of %p: every later close reads it', (bps) => {
      for (const field of ['issuanceFeeBps', 'breakageShareBps']) {
        const command = join();
        given([])
          .when({ ...command, data: { ...command.data, [field]: bps } } as PartnerCommand)
          .thenThrows(InvalidInput, 'invalid_input');
      }
    });
  });

  describe('ChangePartnerTerms', () => {
    it('records a new version of the terms', () =>
      given([joined()])
        .when({ type: 'ChangePartnerTerms', data: { partnerId: 'grocer', ...TERMS_OCT } })
        .then([termsChanged(TERMS_OCT)]));

    it('asserts the handler checked the partner exists', () =>
      given([])
        .when({ type: 'ChangePartnerTerms', data: { partnerId: 'grocer', ...TERMS_OCT } })
        .thenThrows(AssertionFailed));

    it('refuses a rate out of range', () =>
      given([joined()])
        .when({ type: 'ChangePartnerTerms', data: { partnerId: 'grocer', ...TERMS_OCT, breakageShareBps: null as unknown as number } })
        .thenThrows(InvalidInput, 'invalid_input'));
  });

  describe('RevokePartnerKey', () => {
    const issued = { type: 'ApiKeyIssued' as const, data: { partnerId: 'grocer', keyId: 'k-1', keyHash: 'h1', role: 'partner' as const } };
    const revoke = (keyId = 'k-1'): PartnerCommand => ({ type: 'RevokePartnerKey', data: { partnerId: 'grocer', keyId } });
    const revoked = { type: 'ApiKeyRevoked' as const, data: { keyId: 'k-1' } };

    it('revokes the key', () => given([joined(), issued]).when(revoke()).then([revoked]));

    it('writes nothing when the key is already revoked', () => given([joined(), issued, revoked]).when(revoke()).thenNothingHappened());

    it('asserts the handler found the key on this stream', () => given([joined()]).when(revoke('k-2')).thenThrows(AssertionFailed));
  });

  describe('IssuePartnerKey', () => {
    const issue = (keyId: string): PartnerCommand => ({
      type: 'IssuePartnerKey',
      data: { partnerId: 'grocer', keyId, keyHash: `hash-${keyId}` },
    });

    it('issues a partner key bound to the partner, hash only', () =>
      given([joined()])
        .when(issue('k-1'))
        .then([{ type: 'ApiKeyIssued', data: { partnerId: 'grocer', keyId: 'k-1', keyHash: 'hash-k-1', role: 'partner' } }]));

    it('asserts the handler checked the partner exists', () => given([]).when(issue('k-1')).thenThrows(AssertionFailed));

    it('keeps keys by id and marks a revoked one', () => {
      const state = given([
        joined(),
        { type: 'ApiKeyIssued', data: { partnerId: 'grocer', keyId: 'k-1', keyHash: 'h1', role: 'partner' } },
        { type: 'ApiKeyIssued', data: { partnerId: 'grocer', keyId: 'k-2', keyHash: 'h2', role: 'partner' } },
        { type: 'ApiKeyRevoked', data: { keyId: 'k-1' } },
        { type: 'ApiKeyRevoked', data: { keyId: 'k-unknown' } },
      ]).state();
      expect(state.keys).toEqual(
        new Map([
          ['k-1', { keyHash: 'h1', revoked: true }],
          ['k-2', { keyHash: 'h2', revoked: false }],
        ]),
      );
    });
  });

  describe('evolve', () => {
    it('suspends and reinstates', () => {
      const suspended = given([joined(), { type: 'PartnerSuspended', data: { partnerId: 'grocer', reason: 'audit' } }]).state();
      expect(suspended.status).toBe('suspended');
      const reinstated = given([
        joined(),
        { type: 'PartnerSuspended', data: { partnerId: 'grocer', reason: 'audit' } },
        { type: 'PartnerReinstated', data: { partnerId: 'grocer' } },
      ]).state();
      expect(reinstated.status).toBe('active');
    });

    it('keeps term versions ordered by effective date whatever order they were recorded in', () => {
      const state = given([joined(), termsChanged(TERMS_DEC), termsChanged(TERMS_OCT)]).state();
      expect(state.terms.map((t) => t.effectiveFrom)).toEqual([TERMS_2025.effectiveFrom, TERMS_OCT.effectiveFrom, TERMS_DEC.effectiveFrom]);
      expect(state.terms[0]).toEqual(TERMS_2025);
    });
  });

  describe('termsAt', () => {
    const versions = [TERMS_2025, TERMS_OCT, TERMS_DEC];

    it.each([
      ['2026-09-30T23:59:59.999Z', TERMS_2025],
      ['2026-10-01T00:00:00.000Z', TERMS_OCT], // effective on its own date
      ['2026-11-20T12:00:00.000Z', TERMS_OCT],
      ['2026-12-01T00:00:00.000Z', TERMS_DEC],
      ['2027-06-01T00:00:00.000Z', TERMS_DEC],
    ])('on %s uses the latest version effective on or before it', (occurredAt, expected) => {
      expect(termsAt(versions, occurredAt)).toBe(expected);
    });

    it('compares instants, not strings, so offsets count', () => {
      // 02:00 at +03:00 is 23:00 UTC on the day before October.
      expect(termsAt(versions, '2026-10-01T02:00:00+03:00')).toBe(TERMS_2025);
    });

    it('falls back to the first version before any is effective', () => {
      expect(termsAt([TERMS_OCT, TERMS_DEC], '2026-01-01T00:00:00.000Z')).toBe(TERMS_OCT);
    });

    it('takes the later-recorded of two versions effective the same day', () => {
      const sameDay = { ...TERMS_OCT, issuanceFeeBps: 999 };
      const state = given([joined(), termsChanged(TERMS_OCT), termsChanged(sameDay)]).state();
      expect(termsAt(state.terms, '2026-11-01T00:00:00.000Z')).toEqual(sameDay);
    });

    it('asserts a partner always has terms', () => {
      expect(() => termsAt([], '2026-11-01T00:00:00.000Z')).toThrow(AssertionFailed);
    });
  });

  describe('pointsEarned', () => {
    const rule = { pointsPerUnit: 1, unitMinor: 10_000 }; // 1 point per 100.00

    it.each([
      [0, 0],
      [9_999, 0], // a partial unit earns nothing
      [10_000, 1],
      [19_999, 1],
      [20_000, 2],
      [1_234_567, 123],
    ])('%p minor units earn %p points at 1 per 10 000', (amountMinor, points) => {
      expect(pointsEarned(amountMinor, rule)).toBe(points);
    });

    it('multiplies whole units by the points per unit', () => {
      expect(pointsEarned(35_000, { pointsPerUnit: 5, unitMinor: 10_000 })).toBe(15);
    });

    it('handles the largest amount a transaction may carry', () => {
      expect(pointsEarned(AMOUNT_MINOR_MAX, { pointsPerUnit: 1, unitMinor: 1 })).toBe(AMOUNT_MINOR_MAX);
    });

    it.each([-1, 1.5, AMOUNT_MINOR_MAX + 1])('asserts the amount %p was validated upstream', (amountMinor) => {
      expect(() => pointsEarned(amountMinor, rule)).toThrow(AssertionFailed);
    });

    it.each([0, -100, 0.5])('asserts a unit of %p is a positive integer', (unitMinor) => {
      expect(() => pointsEarned(10_000, { pointsPerUnit: 1, unitMinor })).toThrow(AssertionFailed);
    });
  });
});
