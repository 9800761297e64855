import fc from 'fast-check';
import { AssertionFailed } from '@ledger/domain';
import { Membership, classifyMembership, closedCutoffsFrom, prepareClose, selectForPeriod } from './membership';
import { LedgerEvent } from './money-events';
import { accrued, redeemed } from './settlement.fixtures';

describe('period membership (docs/domain.md)', () => {
  // September closed at 1000, August at 400; closing October at 5000.
  const close = prepareClose({
    periodId: '2026-10',
    cutoffPosition: 5000,
    closedCutoffs: new Map([
      ['2026-08', 400],
      ['2026-09', 1000],
    ]),
  });

  it.each<[string, string, number, Membership]>([
    ['in the period, before the cut-off', '2026-10', 4000, 'regular'],
    ['in the period, at the cut-off (inclusive)', '2026-10', 5000, 'regular'],
    ['in the period, after the cut-off: the next close takes it', '2026-10', 5001, 'after_cutoff'],
    ['in a closed period, recorded before its close', '2026-09', 999, 'settled_regular'],
    ['in a closed period, at its cut-off', '2026-09', 1000, 'settled_regular'],
    ['in a closed period, recorded after the last close', '2026-09', 1001, 'late'],
    ['in an older closed period, recorded after the last close', '2026-08', 1500, 'late'],
    ['in an older closed period, recorded between two closes: the later one took it', '2026-08', 700, 'settled_late'],
    ['in an earlier period never closed: waits for it', '2026-07', 3000, 'earlier_period_open'],
    ['in a later period', '2026-11', 3000, 'future_period'],
    ['in a later period, after the cut-off', '2026-11', 6000, 'after_cutoff'],
  ])('%s', (_, period, position, expected) => {
    expect(classifyMembership(period, position, close)).toBe(expected);
  });

  it('settles a late event of a period closed out of order in the next close, whatever its month', () => {
    // November was closed before October: a late November event recorded since goes into October's statement.
    const outOfOrder = prepareClose({ periodId: '2026-10', cutoffPosition: 900, closedCutoffs: new Map([['2026-11', 500]]) });
    expect(classifyMembership('2026-11', 600, outOfOrder)).toBe('late');
    expect(classifyMembership('2026-11', 500, outOfOrder)).toBe('settled_regular');
  });

  it('compares positions only: gaps between positions change nothing', () => {
    const sparse = prepareClose({ periodId: '2026-10', cutoffPosition: 10 ** 12, closedCutoffs: new Map([['2026-09', 10 ** 9]]) });
    expect(classifyMembership('2026-09', 10 ** 9 + 1, sparse)).toBe('late');
    expect(classifyMembership('2026-10', 10 ** 12, sparse)).toBe('regular');
  });

  it('asserts the handler kept its promises: the period is open, and closes are serialised', () => {
    expect(() => prepareClose({ periodId: '2026-10', cutoffPosition: 9, closedCutoffs: new Map([['2026-10', 5]]) })).toThrow(
      AssertionFailed,
    );
    expect(() => prepareClose({ periodId: '2026-10', cutoffPosition: 9, closedCutoffs: new Map([['2026-09', 10]]) })).toThrow(
      AssertionFailed,
    );
  });
});

describe('selectForPeriod', () => {
  const rec = (streamId: string, revision: number, position: number, e: { type: string; data: unknown }): LedgerEvent => ({
    streamId,
    revision,
    position,
    ...e,
  });

  it('keeps the money events of member streams this statement settles, and counts the rest', () => {
    const events: LedgerEvent[] = [
      rec('partner-A', 0, 10, { type: 'PartnerJoined', data: {} }),
      rec('member-m1', 0, 20, { type: 'MemberEnrolled', data: { occurredAt: '2026-08-01T00:00:00.000Z' } }),
      rec('member-m1', 1, 30, accrued({ partner: 'A', points: 5, date: '2026-09-10', tx: 'a1' })),
      rec('member-m1', 2, 50, accrued({ partner: 'A', points: 5, date: '2026-10-02', tx: 'a2' })),
      rec('member-m1', 3, 70, redeemed({ redeemer: 'A', slices: { A: 3 }, date: '2026-09-30', tx: 'r1' })),
      rec('member-m1', 4, 90, accrued({ partner: 'A', points: 5, date: '2026-10-30', tx: 'a3' })),
      rec('settlement-2026-09', 0, 40, {
        type: 'SettlementPeriodClosed',
        data: { periodId: '2026-09', cutoffPosition: 35, closedAt: '2026-10-01T00:00:00.000Z' },
      }),
    ];
    const closed = closedCutoffsFrom(events);
    expect(closed).toEqual(new Map([['2026-09', 35]]));
    const { settled, excluded } = selectForPeriod(events, { periodId: '2026-10', cutoffPosition: 80, closedCutoffs: closed });
    expect(settled.map((s) => [s.streamId, s.revision, s.membership])).toEqual([
      ['member-m1', 2, 'regular'],
      ['member-m1', 3, 'late'],
    ]);
    expect(excluded).toEqual({ after_cutoff: 1, settled_regular: 1, settled_late: 0, earlier_period_open: 0, future_period: 0 });
  });

  it('settles every event exactly once over any sequence of closes (property)', () => {
    const months = ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05'];
    const arb = fc.record({
      events: fc.array(fc.record({ month: fc.constantFrom(...months), gap: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 60 }),
      closeOrder: fc.shuffledSubarray(months, { minLength: 1 }),
      cutoffs: fc.array(fc.nat({ max: 60_000 }), { minLength: months.length, maxLength: months.length }),
    });
    fc.assert(
      fc.property(arb, ({ events, closeOrder, cutoffs }) => {
        let position = 0;
        const log: LedgerEvent[] = events.map((e, i) => {
          position += e.gap;
          return {
            streamId: `member-m${i}`,
            revision: 0,
            position,
            ...accrued({ partner: 'A', points: 1, date: `${e.month}-15`, tx: `t${i}` }),
          };
        });
        const sortedCutoffs = cutoffs.slice(0, closeOrder.length).sort((a, b) => a - b);
        const settledIn = new Map<string, { periodId: string; membership: string }[]>();
        const closed = new Map<string, number>();
        closeOrder.forEach((periodId, k) => {
          const { settled } = selectForPeriod(log, { periodId, cutoffPosition: sortedCutoffs[k], closedCutoffs: new Map(closed) });
          for (const s of settled) {
            const key = s.streamId;
            settledIn.set(key, [...(settledIn.get(key) ?? []), { periodId, membership: s.membership }]);
          }
          closed.set(periodId, sortedCutoffs[k]);
        });
        const lastCutoff = sortedCutoffs[closeOrder.length - 1];
        for (const e of log) {
          const month = (e.data as { occurredAt: string }).occurredAt.slice(0, 7);
          const times = settledIn.get(e.streamId) ?? [];
          expect(times.length).toBeLessThanOrEqual(1);
          const ownCutoff = closed.get(month);
          if (ownCutoff !== undefined && e.position <= lastCutoff) {
            // Its period is closed and some close saw it: settled once, regular in its own
            // period if recorded before that close, otherwise late in the first close after it.
            expect(times).toHaveLength(1);
            if (e.position <= ownCutoff) expect(times[0]).toEqual({ periodId: month, membership: 'regular' });
            else {
              const k = sortedCutoffs.findIndex((c, i) => i < closeOrder.length && c >= e.position);
              expect(times[0]).toEqual({ periodId: closeOrder[k], membership: 'late' });
            }
          } else {
            expect(times).toHaveLength(0);
          }
        }
      }),
    );
  });
});
