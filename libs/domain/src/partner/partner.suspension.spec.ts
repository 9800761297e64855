import { deciderSpec } from '@ledger/testing/decider-spec';
import { NotFound } from '../shared/errors';
import { PartnerEvent, decidePartner, evolvePartner, initialPartner } from './partner';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const given = deciderSpec({ decide: decidePartner, evolve: evolvePartner, initialState: initialPartner, now: NOW });

const joined: PartnerEvent = {
  type: 'PartnerJoined',
  data: {
    partnerId: 'grocer',
    name: 'Grocer',
    earnRule: { pointsPerUnit: 1, unitMinor: 100 },
    issuanceFeeBps: 0,
    breakageShareBps: 0,
    effectiveFrom: '1970-01-01T00:00:00.000Z',
  },
};
const suspended: PartnerEvent = { type: 'PartnerSuspended', data: { partnerId: 'grocer', reason: 'unpaid invoices' } };

describe('partner suspension (fraud controls)', () => {
  it('given an active partner, when it is suspended, then PartnerSuspended is recorded and the partner is suspended', () => {
    const spec = given([joined]).when({ type: 'SuspendPartner', data: { partnerId: 'grocer', reason: 'unpaid invoices' } });
    spec.then([suspended]);
    spec.thenState((s) => expect(s.status).toBe('suspended'));
  });

  it('given a suspended partner, when it is suspended again, then nothing is recorded', () => {
    given([joined, suspended])
      .when({ type: 'SuspendPartner', data: { partnerId: 'grocer', reason: 'again' } })
      .thenNothingHappened();
  });

  it('given a suspended partner, when it is reinstated, then PartnerReinstated is recorded and the partner is active', () => {
    const spec = given([joined, suspended]).when({ type: 'ReinstatePartner', data: { partnerId: 'grocer' } });
    spec.then([{ type: 'PartnerReinstated', data: { partnerId: 'grocer' } }]);
    spec.thenState((s) => expect(s.status).toBe('active'));
  });

  it('given an active partner, when it is reinstated, then nothing is recorded', () => {
    given([joined])
      .when({ type: 'ReinstatePartner', data: { partnerId: 'grocer' } })
      .thenNothingHappened();
  });

  it('given no partner, when one is suspended, then it is not found', () => {
    given([])
      .when({ type: 'SuspendPartner', data: { partnerId: 'ghost', reason: 'x' } })
      .thenThrows(NotFound, 'partner_not_found');
  });
});
