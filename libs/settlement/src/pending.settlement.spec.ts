import { MemberEvent, PointsReleased } from '@ledger/domain';
import { LedgerEvent } from './money-events';
import { classifyEvent, prepareClose } from './membership';
import { accrualReversed, accrued, terms } from './settlement.fixtures';
import { StatementBuilder } from './statement';

/**
 * Issuance is counted at the accrual, pending or not; PointsReleased moves no value. A
 * pending accrual refunded before its window ends nets to zero like any refunded accrual:
 * in one period, or across two (the fee charged in the first is refunded in the second).
 */
const pendingAccrual = (o: { points: number; date: string; tx: string }) => {
  const event = accrued({ partner: 'A', ...o });
  event.data.availableAt = new Date(Date.parse(event.data.occurredAt) + 14 * 86_400_000).toISOString();
  return event;
};

const released = (lotId: string, points: number, occurredAt: string): PointsReleased => ({
  type: 'PointsReleased',
  data: { memberId: 'm1', lotId, issuerPartnerId: 'A', points, occurredAt },
});

/** The statement of `periodId` over these events (every earlier period left open). */
function statementOf(periodId: string, events: MemberEvent[]) {
  const close = prepareClose({ periodId, cutoffPosition: 1_000, closedCutoffs: new Map() });
  const builder = new StatementBuilder(
    { periodId, currency: 'RUB', pointValueMinor: 10, cutoffPosition: 1_000 },
    new Map([['A', [terms(250, 5000)]]]),
  );
  let settled = 0;
  events.forEach((event, i) => {
    const e: LedgerEvent = { streamId: 'member-m1', revision: i, position: i + 1, type: event.type, data: event.data };
    const result = classifyEvent(e, close);
    if (typeof result !== 'object') return;
    builder.add(result);
    settled += 1;
  });
  return { statement: builder.build(), settled };
}

const feeOf = (s: ReturnType<typeof statementOf>['statement']) => s.issuanceFees.reduce((sum, f) => sum + f.amountMinor, 0);

describe('settlement of pending earn', () => {
  it('counts issuance at the accrual: the release settles nothing', () => {
    const accrual = pendingAccrual({ points: 1_000, date: '2026-10-03', tx: 'a1' });
    const withRelease = statementOf('2026-10', [accrual, released('A:a1', 1_000, accrual.data.availableAt!)]);
    const accrualAlone = statementOf('2026-10', [accrual]);
    expect(withRelease.settled).toBe(1);
    expect(withRelease.statement).toEqual(accrualAlone.statement);
    expect(withRelease.statement.totals).toMatchObject({ issuedPoints: 1_000, issuedValueMinor: 10_000, issuanceFeesMinor: 250 });
  });

  it('nets a pending accrual refunded in the same period to zero', () => {
    const accrual = pendingAccrual({ points: 1_000, date: '2026-10-03', tx: 'a1' });
    const refund = accrualReversed({ partner: 'A', points: 1_000, date: '2026-10-05', tx: 'r1', original: 'a1' });
    const { statement } = statementOf('2026-10', [accrual, refund]);
    expect(statement.totals).toMatchObject({ issuedPoints: 0, issuedValueMinor: 0, issuanceFeesMinor: 0 });
    expect(statement.transfers).toEqual([]);
  });

  it('nets a pending accrual refunded in the next period to zero across the two statements', () => {
    const accrual = pendingAccrual({ points: 1_000, date: '2026-10-30', tx: 'a1' });
    const refund = accrualReversed({ partner: 'A', points: 1_000, date: '2026-11-02', tx: 'r1', original: 'a1' });
    const october = statementOf('2026-10', [accrual, refund]).statement;
    const november = statementOf('2026-11', [accrual, refund]).statement;
    expect(october.totals.issuedValueMinor + november.totals.issuedValueMinor).toBe(0);
    expect(feeOf(october)).toBe(250);
    expect(feeOf(october) + feeOf(november)).toBe(0);
  });
});
