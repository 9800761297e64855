import { BonusAwarded } from '@ledger/domain';
import { CURRENCY, POINT_VALUE_MINOR, accrued, redeemed, settledAll, terms } from './settlement.fixtures';
import { calculateStatement } from './statement';

/**
 * Bonuses in settlement: the sponsor issues the bonus lot and pays for it as for any points
 * it issues; the operator is a party like a partner, with a row of its own.
 */
const bonus = (o: { sponsor: string; points: number; tx: string; date: string }): BonusAwarded => ({
  type: 'BonusAwarded',
  data: {
    txId: `${o.sponsor}:${o.tx}`,
    kind: 'surprise',
    partnerId: o.sponsor,
    externalId: o.tx,
    memberId: 'm1',
    points: o.points,
    pointValueMinor: POINT_VALUE_MINOR,
    currency: CURRENCY,
    lotId: `${o.sponsor}:${o.tx}`,
    issuerPartnerId: o.sponsor,
    expiresAt: '2030-01-01T00:00:00.000Z',
    reason: 'thanks',
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

describe('settlement of bonuses', () => {
  it('given an operator bonus redeemed at A, then the operator owes A its value: a row in the net positions and a transfer it pays', () => {
    const s = statementOf([
      bonus({ sponsor: 'operator', points: 500, tx: 'b1', date: '2026-11-02' }),
      redeemed({ redeemer: 'A', slices: { operator: 300 }, date: '2026-11-05', tx: 'r1' }),
    ]);
    expect(s.issuanceFees.find((f) => f.partnerId === 'operator')).toMatchObject({
      issuedPoints: 500,
      issuedValueMinor: 5_000,
      amountMinor: 0,
    });
    expect(s.netPositions).toEqual([
      expect.objectContaining({ partnerId: 'A', receivableMinor: 3_000, payableMinor: 0, settlementMinor: 3_000 }),
      expect.objectContaining({
        partnerId: 'operator',
        receivableMinor: 0,
        payableMinor: 3_000,
        issuanceFeeMinor: 0,
        settlementMinor: -3_000,
      }),
    ]);
    expect(s.transfers).toEqual([
      { partnerId: 'A', direction: 'receive', amountMinor: 3_000 },
      { partnerId: 'operator', direction: 'pay', amountMinor: 3_000 },
    ]);
  });

  it('given a bonus sponsored by B, then B pays the issuance fee on it and owes A for what is redeemed there', () => {
    const s = statementOf([
      accrued({ partner: 'A', points: 100, date: '2026-11-01', tx: 'a1' }),
      bonus({ sponsor: 'B', points: 1_000, tx: 'b1', date: '2026-11-02' }),
      redeemed({ redeemer: 'A', slices: { B: 400 }, date: '2026-11-05', tx: 'r1' }),
    ]);
    // 1,000 points × 10 = 10,000 of value at 2 %: 200.
    expect(s.issuanceFees.find((f) => f.partnerId === 'B')).toMatchObject({
      issuedPoints: 1_000,
      issuedValueMinor: 10_000,
      amountMinor: 200,
    });
    expect(s.netPositions.find((p) => p.partnerId === 'B')).toMatchObject({ payableMinor: 4_000, settlementMinor: -4_200 });
    expect(s.totals.issuedPoints).toBe(1_100);
  });
});
