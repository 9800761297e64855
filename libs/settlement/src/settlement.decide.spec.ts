import { AssertionFailed, Conflict, DomainError, InvalidInput, Refused } from '@ledger/domain';
import {
  ClosePeriod,
  SettlementCommand,
  SettlementEvent,
  SettlementState,
  decideSettlement,
  evolveSettlement,
  initialSettlement,
  settlementDecider,
  settlementStream,
} from './settlement.decide';
import { CURRENCY, settledAll, redeemed, terms } from './settlement.fixtures';
import { calculateStatement } from './statement';
import { SettlementStatement } from './statement.types';

/** given events → when a command at `now` → then events, or a refusal. */
function given(events: SettlementEvent[]) {
  const state = events.reduce<SettlementState>(evolveSettlement, initialSettlement());
  return {
    when: (command: SettlementCommand, now: Date) => {
      const run = () => decideSettlement(command, state, now);
      return {
        then: (expected: SettlementEvent[]) => expect(run()).toEqual(expected),
        thenRefused: (kind: new (...args: never[]) => DomainError, code: string) => {
          let error: unknown;
          try {
            run();
          } catch (err) {
            error = err;
          }
          expect(error).toBeInstanceOf(kind);
          expect((error as DomainError).code).toBe(code);
        },
        thenAssertionFails: () => expect(run).toThrow(AssertionFailed),
      };
    },
  };
}

const statementOf = (periodId: string, cutoffPosition: number): SettlementStatement =>
  calculateStatement({
    periodId,
    currency: CURRENCY,
    pointValueMinor: 10,
    cutoffPosition,
    partnerTerms: new Map([
      ['A', [terms(100, 0)]],
      ['B', [terms(100, 0)]],
    ]),
    events: settledAll([redeemed({ redeemer: 'B', slices: { A: 7 }, date: `${periodId}-15`, tx: 'r1' })]),
  });

const close = (periodId: string, cutoffPosition = 4242, statement = statementOf(periodId, cutoffPosition)): ClosePeriod => ({
  type: 'ClosePeriod',
  data: { periodId, cutoffPosition, statement },
});

const closed = (periodId: string, cutoffPosition = 4242, closedAt = '2026-11-02T09:00:00.000Z'): SettlementEvent[] => [
  { type: 'SettlementPeriodClosed', data: { periodId, cutoffPosition, closedAt } },
  { type: 'SettlementStatementIssued', data: { periodId, statement: statementOf(periodId, cutoffPosition) } },
];

const NOV_2 = new Date('2026-11-02T09:00:00.000Z');

describe('settlement decider', () => {
  it('closes an ended period: the cut-off, then the whole statement', () =>
    given([])
      .when(close('2026-10'), NOV_2)
      .then([
        { type: 'SettlementPeriodClosed', data: { periodId: '2026-10', cutoffPosition: 4242, closedAt: '2026-11-02T09:00:00.000Z' } },
        { type: 'SettlementStatementIssued', data: { periodId: '2026-10', statement: statementOf('2026-10', 4242) } },
      ]));

  it('closes a period at the first instant after it', () =>
    given([])
      .when(close('2026-10'), new Date('2026-11-01T00:00:00.000Z'))
      .then(closed('2026-10', 4242, '2026-11-01T00:00:00.000Z')));

  it('refuses a period that has not ended yet (422)', () =>
    given([]).when(close('2026-10'), new Date('2026-10-31T23:59:59.999Z')).thenRefused(Refused, 'period_not_ended'));

  it('refuses a future period (422)', () => given([]).when(close('2027-01'), NOV_2).thenRefused(Refused, 'period_not_ended'));

  it('refuses to close a closed period again (409), even with the same statement', () =>
    given(closed('2026-10')).when(close('2026-10'), new Date('2026-12-01T00:00:00.000Z')).thenRefused(Conflict, 'period_closed'));

  it.each(['2026-13', '2026-1', '26-10', '2026-10-01', '', 'october'])('refuses the period id %j (400)', (periodId) =>
    given([])
      .when({ type: 'ClosePeriod', data: { periodId, cutoffPosition: 1, statement: statementOf('2026-10', 1) } }, NOV_2)
      .thenRefused(InvalidInput, 'invalid_input'),
  );

  it('names the field of a bad period id', () => {
    expect(() =>
      decideSettlement(
        { type: 'ClosePeriod', data: { periodId: 'x', cutoffPosition: 1, statement: statementOf('2026-10', 1) } },
        initialSettlement(),
        NOV_2,
      ),
    ).toThrow(expect.objectContaining({ details: [{ field: 'periodId', reason: 'must be a calendar month YYYY-MM' }] }));
  });

  it('asserts the statement belongs to the period and cut-off closed, untampered', () => {
    given([])
      .when(close('2026-10', 4242, statementOf('2026-09', 4242)), NOV_2)
      .thenAssertionFails();
    given([])
      .when(close('2026-10', 4242, statementOf('2026-10', 4000)), NOV_2)
      .thenAssertionFails();
    const tampered = { ...statementOf('2026-10', 4242), transfers: [] };
    given([])
      .when(close('2026-10', 4242, tampered), NOV_2)
      .thenAssertionFails();
  });

  it('folds its stream into the closed state with the statement', () => {
    const state = closed('2026-10').reduce(settlementDecider.evolve, settlementDecider.initialState());
    expect(state).toEqual({
      status: 'closed',
      periodId: '2026-10',
      cutoffPosition: 4242,
      closedAt: '2026-11-02T09:00:00.000Z',
      statement: statementOf('2026-10', 4242),
    });
  });

  it('names the stream after the period', () => expect(settlementStream('2026-10')).toBe('settlement-2026-10'));
});
