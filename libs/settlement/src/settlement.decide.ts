import { Conflict, Decider, DomainEvent, Refused, assert } from '@ledger/domain';
import { checkPeriodId, periodEndsAt, periodHasEnded } from './period';
import { verifyStatement } from './statement';
import { SettlementStatement } from './statement.types';

/** One stream per period: `settlement-2026-10`. Its existence is the period being closed. */
export const settlementStream = (periodId: string) => `settlement-${periodId}`;

export type SettlementPeriodClosed = DomainEvent<'SettlementPeriodClosed', { periodId: string; cutoffPosition: number; closedAt: string }>;
export type SettlementStatementIssued = DomainEvent<'SettlementStatementIssued', { periodId: string; statement: SettlementStatement }>;
export type SettlementEvent = SettlementPeriodClosed | SettlementStatementIssued;

/**
 * Close a period: the handler has fixed the cut-off (the head position when it read the
 * log) and calculated the statement from the events up to it.
 */
export type ClosePeriod = {
  type: 'ClosePeriod';
  data: { periodId: string; cutoffPosition: number; statement: SettlementStatement };
};
export type SettlementCommand = ClosePeriod;

export type SettlementState =
  | { status: 'open' }
  | { status: 'closed'; periodId: string; cutoffPosition: number; closedAt: string; statement: SettlementStatement | null };

export const initialSettlement = (): SettlementState => ({ status: 'open' });

export function decideSettlement(command: SettlementCommand, state: SettlementState, now: Date): SettlementEvent[] {
  switch (command.type) {
    case 'ClosePeriod':
      return closePeriod(command, state, now);
    default: {
      const unknown: never = command.type;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

function closePeriod({ data }: ClosePeriod, state: SettlementState, now: Date): SettlementEvent[] {
  const { periodId, cutoffPosition, statement } = data;
  checkPeriodId(periodId); // 400
  // A closed period is immutable: its statement was filed, later events go to a later one.
  if (state.status === 'closed') {
    throw new Conflict('period_closed', `period ${periodId} was closed at ${state.closedAt}`); // 409
  }
  // Events of a month still running would be missing from its statement.
  if (!periodHasEnded(periodId, now)) {
    throw new Refused('period_not_ended', `period ${periodId} ends at ${periodEndsAt(periodId)}`); // 422
  }
  assert(Number.isSafeInteger(cutoffPosition) && cutoffPosition >= 0, 'cut-off is a store position');
  assert(statement.periodId === periodId, 'statement is of the period closed');
  assert(statement.cutoffPosition === cutoffPosition, 'statement was calculated at this cut-off');
  assert(verifyStatement(statement), 'statement matches its sha256');
  return [
    { type: 'SettlementPeriodClosed', data: { periodId, cutoffPosition, closedAt: now.toISOString() } },
    { type: 'SettlementStatementIssued', data: { periodId, statement } },
  ];
}

export function evolveSettlement(state: SettlementState, event: SettlementEvent): SettlementState {
  switch (event.type) {
    case 'SettlementPeriodClosed': {
      const { periodId, cutoffPosition, closedAt } = event.data;
      return { status: 'closed', periodId, cutoffPosition, closedAt, statement: null };
    }
    case 'SettlementStatementIssued':
      // Appended together with the close, so the period is closed by now.
      if (state.status !== 'closed') return state;
      return { ...state, statement: event.data.statement };
    default:
      return state;
  }
}

export const settlementDecider: Decider<SettlementCommand, SettlementEvent, SettlementState> = {
  decide: decideSettlement,
  evolve: evolveSettlement,
  initialState: initialSettlement,
};
