import { createHash } from 'node:crypto';
import { AssertionFailed } from '@ledger/domain';
import { canonicalJson } from '@ledger/integrity';
import {
  CURRENCY,
  POINT_VALUE_MINOR,
  accrualReversed,
  accrued,
  expired,
  redeemed,
  redemptionReversed,
  settledAll,
  terms,
} from './settlement.fixtures';
import { StatementBuilder, calculateStatement, statementJson, statementSha256, verifyStatement } from './statement';
import { SettlementStatement } from './statement.types';

/**
 * A hand-computed October 2026 for three partners, point value 10 kopecks.
 *
 * Terms: A 150 bps until 15 Oct, 250 bps from then, breakage share 50 %; B 100 bps, 25 %;
 * C 50 bps, 0 %.
 */
const partnerTerms = new Map([
  ['A', [terms(150, 5000, '2020-01-01'), terms(250, 5000, '2026-10-15')]],
  ['B', [terms(100, 2500)]],
  ['C', [terms(50, 0)]],
]);

const october = settledAll([
  // Issued: A 1000 at 150 bps and 333 at 250 bps; B 2000 + 35 + 150, the 150 refunded; C 50.
  accrued({ partner: 'A', points: 1000, date: '2026-10-03', tx: 'a1', member: 'm1' }),
  accrued({ partner: 'A', points: 333, date: '2026-10-20', tx: 'a2', member: 'm1' }),
  accrued({ partner: 'B', points: 2000, date: '2026-10-05', tx: 'b1', member: 'm2' }),
  accrued({ partner: 'B', points: 35, date: '2026-10-06', tx: 'b2', member: 'm2' }),
  accrued({ partner: 'B', points: 150, date: '2026-10-06', tx: 'b3', member: 'm3' }),
  accrualReversed({ partner: 'B', points: 150, date: '2026-10-07', tx: 'b3-refund', original: 'b3', member: 'm3' }),
  accrued({ partner: 'C', points: 50, date: '2026-10-08', tx: 'c1', member: 'm4' }),
  // Cross redemptions and a self-redemption.
  redeemed({ redeemer: 'B', slices: { A: 400, C: 20 }, date: '2026-10-10', tx: 'r1', member: 'm1' }),
  redeemed({ redeemer: 'A', slices: { B: 500 }, date: '2026-10-11', tx: 'r2', member: 'm2' }),
  redeemed({ redeemer: 'A', slices: { A: 100 }, date: '2026-10-12', tx: 'r3', member: 'm3' }),
  redeemed({ redeemer: 'C', slices: { B: 300 }, date: '2026-10-13', tx: 'r4', member: 'm2' }),
  // A cancels a September redemption of C's points: a negative line C → A.
  redemptionReversed({
    redeemer: 'A',
    slices: { C: 60 },
    date: '2026-10-14',
    originalDate: '2026-09-28',
    tx: 'x1',
    original: 'r0',
    member: 'm5',
  }),
  // Recorded after September was closed: settled here, listed as a late adjustment.
  [redeemed({ redeemer: 'C', slices: { A: 70 }, date: '2026-09-29', tx: 'r-late', member: 'm6' }), 'late'],
  // Breakage: A 10 points, B 45 points.
  expired({ issuer: 'A', points: 10, date: '2026-10-31', lot: 'old-a', member: 'm7' }),
  expired({ issuer: 'B', points: 45, date: '2026-10-31', lot: 'old-b', member: 'm7' }),
]);

const input = {
  periodId: '2026-10',
  currency: CURRENCY,
  pointValueMinor: POINT_VALUE_MINOR,
  cutoffPosition: 123_456,
  events: october,
  partnerTerms,
};

describe('calculateStatement, a hand-computed month', () => {
  const s = calculateStatement(input);

  it('has the header of the period', () => {
    expect(s).toMatchObject({
      statementVersion: 1,
      periodId: '2026-10',
      periodStartsAt: '2026-10-01T00:00:00.000Z',
      periodEndsAt: '2026-11-01T00:00:00.000Z',
      currency: 'RUB',
      pointValueMinor: 10,
      cutoffPosition: 123_456,
      eventCount: 15,
      regularEventCount: 14,
      lateEventCount: 1,
    });
  });

  it('holds L[issuer][redeemer] net of reversals, the diagonal flagged', () => {
    const line = (i: string, r: string, points: number, amountMinor: number, reversedPoints = 0) => ({
      issuerPartnerId: i,
      redeemerPartnerId: r,
      points,
      amountMinor,
      redeemedPoints: points + reversedPoints,
      redeemedAmountMinor: (points + reversedPoints) * 10,
      reversedPoints,
      reversedAmountMinor: reversedPoints * 10,
      selfRedemption: i === r,
    });
    expect(s.matrix).toEqual([
      line('A', 'A', 100, 1000),
      line('A', 'B', 400, 4000),
      line('A', 'C', 70, 700),
      line('B', 'A', 500, 5000),
      line('B', 'C', 300, 3000),
      line('C', 'A', -60, -600, 60),
      line('C', 'B', 20, 200),
    ]);
  });

  it('charges issuance fees per terms version, each line rounded half-to-even once', () => {
    expect(s.issuanceFees).toEqual([
      {
        partnerId: 'A',
        issuedPoints: 1333,
        issuedValueMinor: 13330,
        amountMinor: 233,
        residueBpsOfMinor: 2500,
        lines: [
          // 10 000 × 1.5 % = 150 exactly.
          {
            effectiveFrom: '2020-01-01T12:00:00.000Z',
            issuanceFeeBps: 150,
            issuedPoints: 1000,
            reversedPoints: 0,
            issuedValueMinor: 10000,
            feeMinor: 150,
            residueBpsOfMinor: 0,
          },
          // 3 330 × 2.5 % = 83.25 → 83, residue 0.25.
          {
            effectiveFrom: '2026-10-15T12:00:00.000Z',
            issuanceFeeBps: 250,
            issuedPoints: 333,
            reversedPoints: 0,
            issuedValueMinor: 3330,
            feeMinor: 83,
            residueBpsOfMinor: 2500,
          },
        ],
      },
      {
        partnerId: 'B',
        issuedPoints: 2035,
        issuedValueMinor: 20350,
        amountMinor: 204,
        residueBpsOfMinor: -5000,
        // 20 350 × 1 % = 203.5: a tie, to the even 204.
        lines: [
          {
            effectiveFrom: '2020-01-01T12:00:00.000Z',
            issuanceFeeBps: 100,
            issuedPoints: 2185,
            reversedPoints: 150,
            issuedValueMinor: 20350,
            feeMinor: 204,
            residueBpsOfMinor: -5000,
          },
        ],
      },
      {
        partnerId: 'C',
        issuedPoints: 50,
        issuedValueMinor: 500,
        amountMinor: 2,
        residueBpsOfMinor: 5000,
        // 500 × 0.5 % = 2.5: a tie, to the even 2.
        lines: [
          {
            effectiveFrom: '2020-01-01T12:00:00.000Z',
            issuanceFeeBps: 50,
            issuedPoints: 50,
            reversedPoints: 0,
            issuedValueMinor: 500,
            feeMinor: 2,
            residueBpsOfMinor: 5000,
          },
        ],
      },
    ]);
  });

  it('reports breakage per issuer with the operator share', () => {
    expect(s.breakage).toEqual([
      {
        issuerPartnerId: 'A',
        points: 10,
        amountMinor: 100,
        operatorShareMinor: 50,
        residueBpsOfMinor: 0,
        lines: [
          {
            effectiveFrom: '2026-10-15T12:00:00.000Z',
            breakageShareBps: 5000,
            points: 10,
            amountMinor: 100,
            operatorShareMinor: 50,
            residueBpsOfMinor: 0,
          },
        ],
      },
      {
        issuerPartnerId: 'B',
        points: 45,
        amountMinor: 450,
        // 450 × 25 % = 112.5 → 112.
        operatorShareMinor: 112,
        residueBpsOfMinor: 5000,
        lines: [
          {
            effectiveFrom: '2020-01-01T12:00:00.000Z',
            breakageShareBps: 2500,
            points: 45,
            amountMinor: 450,
            operatorShareMinor: 112,
            residueBpsOfMinor: 5000,
          },
        ],
      },
    ]);
  });

  it('nets every partner against the others, summing to zero', () => {
    // Flows: A→B 4000, A→C 700 + 600 (the negative C→A line), B→A 5000, B→C 3000, C→B 200.
    expect(s.netPositions).toEqual([
      {
        partnerId: 'A',
        receivableMinor: 5000,
        payableMinor: 5300,
        netMinor: -300,
        issuanceFeeMinor: 233,
        breakageShareMinor: 50,
        settlementMinor: -583,
      },
      {
        partnerId: 'B',
        receivableMinor: 4200,
        payableMinor: 8000,
        netMinor: -3800,
        issuanceFeeMinor: 204,
        breakageShareMinor: 112,
        settlementMinor: -4116,
      },
      {
        partnerId: 'C',
        receivableMinor: 4300,
        payableMinor: 200,
        netMinor: 4100,
        issuanceFeeMinor: 2,
        breakageShareMinor: 0,
        settlementMinor: 4098,
      },
    ]);
    expect(s.bilateralNets).toEqual([
      { partnerId: 'A', counterpartyPartnerId: 'B', receivableMinor: 5000, payableMinor: 4000, netMinor: 1000 },
      { partnerId: 'A', counterpartyPartnerId: 'C', receivableMinor: 0, payableMinor: 1300, netMinor: -1300 },
      { partnerId: 'B', counterpartyPartnerId: 'A', receivableMinor: 4000, payableMinor: 5000, netMinor: -1000 },
      { partnerId: 'B', counterpartyPartnerId: 'C', receivableMinor: 200, payableMinor: 3000, netMinor: -2800 },
      { partnerId: 'C', counterpartyPartnerId: 'A', receivableMinor: 1300, payableMinor: 0, netMinor: 1300 },
      { partnerId: 'C', counterpartyPartnerId: 'B', receivableMinor: 3000, payableMinor: 200, netMinor: 2800 },
    ]);
  });

  it('settles each partner with one transfer through the clearing account', () => {
    expect(s.transfers).toEqual([
      { partnerId: 'A', direction: 'pay', amountMinor: 583 },
      { partnerId: 'B', direction: 'pay', amountMinor: 4116 },
      { partnerId: 'C', direction: 'receive', amountMinor: 4098 },
    ]);
  });

  it('lists what it settles for earlier periods', () => {
    expect(s.lateAdjustments).toEqual([
      {
        streamId: 'member-m5',
        revision: 0,
        eventType: 'RedemptionReversed',
        txId: 'A:x1',
        occurredAt: '2026-10-14T12:00:00.000Z',
        businessPeriodId: '2026-10',
        reason: 'reverses_earlier_period',
        originalPeriodId: '2026-09',
        effects: [{ kind: 'redemption_reversed', issuerPartnerId: 'C', redeemerPartnerId: 'A', points: -60, amountMinor: -600 }],
      },
      {
        streamId: 'member-m6',
        revision: 0,
        eventType: 'PointsRedeemed',
        txId: 'C:r-late',
        occurredAt: '2026-09-29T12:00:00.000Z',
        businessPeriodId: '2026-09',
        reason: 'recorded_after_cutoff',
        effects: [{ kind: 'redeemed', issuerPartnerId: 'A', redeemerPartnerId: 'C', points: 70, amountMinor: 700 }],
      },
    ]);
  });

  it('totals the period and reports the rounding residue', () => {
    expect(s.totals).toEqual({
      redeemedPoints: 1390,
      reversedPoints: 60,
      interPartnerPoints: 1230,
      interPartnerAmountMinor: 12300,
      selfRedeemedPoints: 100,
      selfRedeemedAmountMinor: 1000,
      issuedPoints: 3418,
      issuedValueMinor: 34180,
      issuanceFeesMinor: 439,
      expiredPoints: 55,
      breakageMinor: 550,
      operatorBreakageShareMinor: 162,
      operatorIncomeMinor: 601,
      clearingPayInMinor: 4699,
      clearingPayOutMinor: 4098,
    });
    // 0.25 − 0.5 + 0.5 + 0.5 = 0.75 minor units, exactly 7 500 / 10 000.
    expect(s.roundingResidueBpsOfMinor).toBe(7500);
    expect(s.roundingResidueMinor).toBe(1);
  });

  it('carries the sha256 of its canonical JSON without the sha256 field', () => {
    const { sha256, ...body } = s;
    expect(sha256).toBe(createHash('sha256').update(canonicalJson(body)).digest('hex'));
    expect(statementSha256(s)).toBe(sha256);
    expect(verifyStatement(s)).toBe(true);
    expect(verifyStatement({ ...s, transfers: [] })).toBe(false);
  });

  it('is reproduced byte for byte, whatever order the events come in', () => {
    const again = calculateStatement({ ...input, events: [...october].reverse() });
    expect(statementJson(again)).toBe(statementJson(s));
    expect(again.sha256).toBe(s.sha256);
  });

  it('is the same built event by event (paging through the log)', () => {
    const builder = new StatementBuilder(input, partnerTerms);
    for (const e of october) builder.add(e);
    expect(statementJson(builder.build())).toBe(statementJson(s));
    expect(() => builder.build()).toThrow(AssertionFailed);
    expect(() => builder.add(october[0])).toThrow(AssertionFailed);
  });

  it('survives a JSON round trip (as stored in the event) unchanged', () => {
    const stored = JSON.parse(JSON.stringify(s)) as SettlementStatement;
    expect(verifyStatement(stored)).toBe(true);
    expect(statementJson(stored)).toBe(statementJson(s));
  });
});

describe('calculateStatement, edges', () => {
  const base = {
    periodId: '2026-10',
    currency: CURRENCY,
    pointValueMinor: 10,
    cutoffPosition: 0,
    partnerTerms: new Map([['A', [terms(100, 100)]]]),
  };

  it('of an empty period is an empty statement that still nets to zero', () => {
    const s = calculateStatement({ ...base, events: [] });
    expect(s.matrix).toEqual([]);
    expect(s.netPositions).toEqual([]);
    expect(s.transfers).toEqual([]);
    expect(s.breakage).toEqual([]);
    expect(s.roundingResidueMinor).toBe(0);
    expect(verifyStatement(s)).toBe(true);
  });

  it('values each slice at its own event point value', () => {
    const s = calculateStatement({
      ...base,
      partnerTerms: new Map([
        ['A', [terms(0, 0)]],
        ['B', [terms(0, 0)]],
      ]),
      events: settledAll([
        redeemed({ redeemer: 'B', slices: { A: 3 }, date: '2026-10-02', tx: 'r1', pv: 10 }),
        redeemed({ redeemer: 'B', slices: { A: 3 }, date: '2026-10-20', tx: 'r2', pv: 12 }),
      ]),
    });
    expect(s.matrix[0]).toMatchObject({ points: 6, amountMinor: 66 });
    expect(s.transfers).toEqual([
      { partnerId: 'A', direction: 'pay', amountMinor: 66 },
      { partnerId: 'B', direction: 'receive', amountMinor: 66 },
    ]);
  });

  it('keeps a self-redemption out of the transfers', () => {
    const s = calculateStatement({
      ...base,
      events: settledAll([redeemed({ redeemer: 'A', slices: { A: 50 }, date: '2026-10-02', tx: 'r1' })]),
    });
    expect(s.matrix).toEqual([expect.objectContaining({ issuerPartnerId: 'A', redeemerPartnerId: 'A', points: 50, selfRedemption: true })]);
    expect(s.netPositions).toEqual([expect.objectContaining({ partnerId: 'A', netMinor: 0, settlementMinor: 0 })]);
    expect(s.transfers).toEqual([]);
  });

  it('computes large amounts exactly, and fails loudly rather than round past 2^53', () => {
    const twoPartners = new Map([
      ['A', [terms(1, 0)]],
      ['B', [terms(0, 0)]],
    ]);
    const s = calculateStatement({
      ...base,
      partnerTerms: twoPartners,
      events: settledAll([
        redeemed({ redeemer: 'B', slices: { A: 900_000_000_000 }, date: '2026-10-02', tx: 'r1', pv: 1000 }),
        accrued({ partner: 'A', points: 4_000_000_000_001, date: '2026-10-02', tx: 'a1', pv: 1000 }),
      ]),
    });
    expect(s.matrix[0].amountMinor).toBe(900_000_000_000_000);
    // 4 000 000 000 001 000 × 1 / 10 000 = 400 000 000 000.1 → 400 000 000 000, residue 0.1.
    expect(s.issuanceFees[0]).toMatchObject({
      issuedValueMinor: 4_000_000_000_001_000,
      amountMinor: 400_000_000_000,
      residueBpsOfMinor: 1000,
    });

    // 2^52 + 1 and 2^52 + 2 sum to 2^53 + 3, which a double would round to 2^53 + 4.
    const overflow = settledAll([
      accrued({ partner: 'A', points: 2 ** 52 + 1, date: '2026-10-02', tx: 'a1', pv: 1 }),
      accrued({ partner: 'A', points: 2 ** 52 + 2, date: '2026-10-02', tx: 'a2', pv: 1 }),
    ]);
    expect(() => calculateStatement({ ...base, partnerTerms: twoPartners, events: overflow })).toThrow('fits a safe integer');
    // One slice worth more than 2^53 minor units.
    const product = settledAll([redeemed({ redeemer: 'B', slices: { A: 2 ** 50 }, date: '2026-10-02', tx: 'r1', pv: 16 })]);
    expect(() => calculateStatement({ ...base, partnerTerms: twoPartners, events: product })).toThrow('points value fits a safe integer');
  });

  it('asserts what the store guarantees: one currency, terms for every issuer, each event once', () => {
    const ev = settledAll([accrued({ partner: 'A', points: 1, date: '2026-10-02', tx: 'a1' })]);
    const foreign = settledAll([
      { ...accrued({ partner: 'A', points: 1, date: '2026-10-02', tx: 'a1' }), data: { ...ev[0].event.data, currency: 'EUR' } } as never,
    ]);
    expect(() => calculateStatement({ ...base, events: foreign })).toThrow(new AssertionFailed('the coalition currency never changes'));
    expect(() =>
      calculateStatement({ ...base, events: settledAll([accrued({ partner: 'Z', points: 1, date: '2026-10-02', tx: 'z1' })]) }),
    ).toThrow('terms of partner Z are given');
    expect(() => calculateStatement({ ...base, events: [...ev, ...ev] })).toThrow('each event is settled once');
  });

  it('refunds a fee on a negative line (more reversed than issued in the period)', () => {
    const s = calculateStatement({
      ...base,
      events: settledAll([accrualReversed({ partner: 'A', points: 150, date: '2026-10-02', tx: 'x', original: 'a-sept' })]),
    });
    // −1 500 × 1 % = −15.
    expect(s.issuanceFees[0]).toMatchObject({ issuedValueMinor: -1500, amountMinor: -15 });
    expect(s.transfers).toEqual([{ partnerId: 'A', direction: 'receive', amountMinor: 15 }]);
    expect(s.totals.operatorIncomeMinor).toBe(-15);
  });
});
