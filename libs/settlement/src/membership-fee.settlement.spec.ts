import { MembershipPurchased } from '@ledger/domain';
import { CURRENCY, POINT_VALUE_MINOR, accrued, settledAll, terms } from './settlement.fixtures';
import { statementForPartner } from './partner-view';
import { calculateStatement } from './statement';
import { verifyStatement } from './statement-hash';

/** Paid plans in settlement: the fee is the selling partner's income line; no points, no transfer. */
const sold = (o: { partner: string; planId: string; feeMinor: number; tx: string; member: string; date: string }): MembershipPurchased => ({
  type: 'MembershipPurchased',
  data: {
    txId: `${o.partner}:${o.tx}`,
    partnerId: o.partner,
    externalId: o.tx,
    memberId: o.member,
    planId: o.planId,
    feeMinor: o.feeMinor,
    currency: CURRENCY,
    validFrom: `${o.date}T12:00:00.000Z`,
    validUntil: '2027-11-01T12:00:00.000Z',
    multiplierBps: 15_000,
    occurredAt: `${o.date}T12:00:00.000Z`,
  },
});

const statementOf = (events: Parameters<typeof settledAll>[0]) =>
  calculateStatement({
    periodId: '2026-11',
    currency: CURRENCY,
    pointValueMinor: POINT_VALUE_MINOR,
    cutoffPosition: 100,
    events: settledAll(events),
    partnerTerms: new Map([
      ['A', [terms(100, 5000)]],
      ['B', [terms(200, 2500)]],
    ]),
  });

describe('settlement of paid plans', () => {
  const accrual = accrued({ partner: 'A', points: 100, date: '2026-11-01', tx: 'a1' });

  it('given plans sold by B and A, then membershipFees lists each partner and plan, sorted; nets and transfers are as without them', () => {
    const without = statementOf([accrual]);
    const s = statementOf([
      accrual,
      sold({ partner: 'B', planId: 'plus', feeMinor: 99_000, tx: 'p1', member: 'm1', date: '2026-11-03' }),
      sold({ partner: 'A', planId: 'plus', feeMinor: 99_000, tx: 'p2', member: 'm2', date: '2026-11-04' }),
      sold({ partner: 'B', planId: 'plus', feeMinor: 99_000, tx: 'p3', member: 'm3', date: '2026-11-05' }),
      sold({ partner: 'B', planId: 'lite', feeMinor: 10_000, tx: 'p4', member: 'm4', date: '2026-11-05' }),
    ]);
    expect(s.membershipFees).toEqual([
      { partnerId: 'A', planId: 'plus', plansSold: 1, feeMinor: 99_000 },
      { partnerId: 'B', planId: 'lite', plansSold: 1, feeMinor: 10_000 },
      { partnerId: 'B', planId: 'plus', plansSold: 2, feeMinor: 198_000 },
    ]);
    expect(s.eventCount).toBe(5);
    expect({ nets: s.netPositions, transfers: s.transfers, totals: s.totals, fees: s.issuanceFees }).toEqual({
      nets: without.netPositions,
      transfers: without.transfers,
      totals: without.totals,
      fees: without.issuanceFees,
    });
    expect(verifyStatement(s)).toBe(true);
  });

  it('given no plan sold, then the statement has no membershipFees field (its shape and hash as before plans existed)', () => {
    expect('membershipFees' in statementOf([accrual])).toBe(false);
  });

  it('given the same events, the statement hash is the same whatever order the members streams interleave', () => {
    const p1 = sold({ partner: 'B', planId: 'plus', feeMinor: 99_000, tx: 'p1', member: 'm1', date: '2026-11-03' });
    const p2 = sold({ partner: 'A', planId: 'plus', feeMinor: 99_000, tx: 'p2', member: 'm2', date: '2026-11-04' });
    expect(statementOf([accrual, p1, p2]).sha256).toBe(statementOf([p2, accrual, p1]).sha256);
  });

  it('given a plan sold late, then it is a late adjustment with its fee as the seller effect; a partner sees its own lines only', () => {
    const s = statementOf([[sold({ partner: 'B', planId: 'plus', feeMinor: 99_000, tx: 'p1', member: 'm1', date: '2026-10-30' }), 'late']]);
    expect(s.lateAdjustments).toEqual([
      expect.objectContaining({
        eventType: 'MembershipPurchased',
        txId: 'B:p1',
        reason: 'recorded_after_cutoff',
        effects: [{ kind: 'membership_fee', issuerPartnerId: 'B', points: 0, amountMinor: 99_000 }],
      }),
    ]);
    expect(statementForPartner(s, 'A').membershipFees).toEqual([]);
    expect(statementForPartner(s, 'B').membershipFees).toEqual([{ partnerId: 'B', planId: 'plus', plansSold: 1, feeMinor: 99_000 }]);
  });
});
