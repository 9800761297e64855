import { deciderSpec } from '@ledger/testing/decider-spec';
import { AssertionFailed, Conflict, InvalidInput } from '../shared/errors';
import {
  CoalitionCommand,
  CoalitionEvent,
  COALITION_ID,
  coalitionStream,
  decideCoalition,
  evolveCoalition,
  initialCoalition,
} from './coalition';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decideCoalition, evolve: evolveCoalition, initialState: initialCoalition, now: NOW });

const configure = (data: Partial<{ currency: string; pointValueMinor: number; expiryMonths: number }> = {}): CoalitionCommand => ({
  type: 'ConfigureCoalition',
  data: { currency: 'RUB', pointValueMinor: 10, expiryMonths: 12, ...data },
});

const configured = (): CoalitionEvent => ({
  type: 'CoalitionConfigured',
  data: { coalitionId: COALITION_ID, currency: 'RUB', pointValueMinor: 10, expiryMonths: 12 },
});

const keyIssued = (keyId = 'k-fin', keyHash = 'sha256:aaa'): CoalitionEvent => ({
  type: 'ApiKeyIssued',
  data: { keyId, role: 'finance', keyHash },
});

describe('coalition decider', () => {
  it('lives on the coalition-default stream', () => {
    expect(coalitionStream()).toBe('coalition-default');
  });

  describe('ConfigureCoalition', () => {
    it('configures the coalition the first time', () => given([]).when(configure()).then([configured()]));

    it('writes nothing when configured again with the same values', () => given([configured()]).when(configure()).thenNothingHappened());

    it('records a new point value with the one it replaces', () =>
      given([configured()])
        .when(configure({ pointValueMinor: 25 }))
        .then([{ type: 'PointValueChanged', data: { pointValueMinor: 25, previousPointValueMinor: 10 } }]));

    it('records a new expiry policy with the one it replaces', () =>
      given([configured()])
        .when(configure({ expiryMonths: 24 }))
        .then([{ type: 'ExpiryPolicyChanged', data: { expiryMonths: 24, previousExpiryMonths: 12 } }]));

    it('records both changes, point value first, when both move', () =>
      given([configured()])
        .when(configure({ pointValueMinor: 5, expiryMonths: 6 }))
        .then([
          { type: 'PointValueChanged', data: { pointValueMinor: 5, previousPointValueMinor: 10 } },
          { type: 'ExpiryPolicyChanged', data: { expiryMonths: 6, previousExpiryMonths: 12 } },
        ]));

    it('compares against the latest point value, not the first', () =>
      given([configured(), { type: 'PointValueChanged', data: { pointValueMinor: 25, previousPointValueMinor: 10 } }])
        .when(configure({ pointValueMinor: 25 }))
        .thenNothingHappened());

    it('refuses to change the currency: issued points are valued in it', () =>
      given([configured()])
        .when(configure({ currency: 'EUR' }))
        .thenThrows(Conflict, 'currency_fixed'));

    it.each(['rub', 'RU', 'RUBL', '', '810'])('refuses the currency %j as not an ISO 4217 code', (currency) =>
      given([]).when(configure({ currency })).thenThrows(InvalidInput, 'invalid_input'),
    );

    it('names the field of a bad currency', () =>
      given([])
        .when(configure({ currency: 'rub' }))
        .thenThrows((e) => e instanceof InvalidInput && e.details[0].field === 'currency'));

    it('checks the currency format before the currency is compared', () =>
      given([configured()])
        .when(configure({ currency: 'eur' }))
        .thenThrows(InvalidInput));

    it.each([0, -1, 1.5])('treats a point value of %p as a bug upstream (validated by the API)', (pointValueMinor) =>
      given([]).when(configure({ pointValueMinor })).thenThrows(AssertionFailed),
    );
  });

  describe('IssueStaffKey', () => {
    const issue = (keyId = 'k-fin', keyHash = 'sha256:aaa'): CoalitionCommand => ({
      type: 'IssueStaffKey',
      data: { keyId, role: 'finance', keyHash },
    });

    it('issues a staff key, hash only', () => given([configured()]).when(issue()).then([keyIssued()]));

    it('writes nothing when the same key id is issued again', () => given([configured(), keyIssued()]).when(issue()).thenNothingHappened());

    it('issues a second key under another id', () =>
      given([configured(), keyIssued()])
        .when(issue('k-aud', 'sha256:bbb'))
        .then([keyIssued('k-aud', 'sha256:bbb')]));
  });

  describe('RevokeStaffKey', () => {
    const revoke = (keyId = 'k-fin'): CoalitionCommand => ({ type: 'RevokeStaffKey', data: { keyId } });
    const revoked = { type: 'ApiKeyRevoked' as const, data: { keyId: 'k-fin' } };

    it('revokes a staff key', () => given([configured(), keyIssued()]).when(revoke()).then([revoked]));

    it('writes nothing when the key is already revoked', () =>
      given([configured(), keyIssued(), revoked]).when(revoke()).thenNothingHappened());

    it('asserts the handler found the key on this stream', () => given([configured()]).when(revoke('k-none')).thenThrows(AssertionFailed));
  });

  describe('evolve', () => {
    it('folds configuration, changes and keys into the state', () => {
      const state = given([
        configured(),
        { type: 'PointValueChanged', data: { pointValueMinor: 20, previousPointValueMinor: 10 } },
        { type: 'ExpiryPolicyChanged', data: { expiryMonths: 18, previousExpiryMonths: 12 } },
        keyIssued(),
        { type: 'ApiKeyRevoked', data: { keyId: 'k-fin' } },
      ]).state();
      expect(state).toEqual({
        configured: true,
        currency: 'RUB',
        pointValueMinor: 20,
        expiryMonths: 18,
        keys: new Map([['k-fin', { role: 'finance', keyHash: 'sha256:aaa', revoked: true }]]),
      });
    });

    it('ignores the revocation of a key it never saw', () => {
      const state = given([configured(), { type: 'ApiKeyRevoked', data: { keyId: 'k-none' } }]).state();
      expect(state.keys.size).toBe(0);
    });

    it('does not change the state it was given', () => {
      const before = initialCoalition();
      evolveCoalition(before, keyIssued());
      expect(before.keys.size).toBe(0);
    });
  });
});
