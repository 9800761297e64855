import { assert } from '@ledger/domain';
import { LedgerEvent, MoneyEvent, asMoneyEvent } from './money-events';
import { businessPeriodOf, isPeriodId } from './period';

/**
 * Which statement settles a money event (docs/domain.md, "Settlement membership"; the table in libs/settlement/README.md).
 *
 * Closing period P at cut-off C, with the periods already closed and their cut-offs
 * K = {q → C_q}. An event has a business period b (the UTC month of `occurredAt`) and a
 * global position x. Positions only ever grow, and a cut-off is the head position when
 * its period is closed, so "x ≤ C_q" means "recorded before q was closed". Closes are
 * serialised, hence C ≥ every C_q.
 *
 *   1. x > C                         → not here (`after_cutoff`): recorded after this close;
 *                                      the next close sees it.
 *   2. b = P                         → a regular line.
 *   3. b ∈ K and x ≤ C_b             → not here (`settled_regular`): a regular line of b.
 *   4. b ∈ K and x > C_b             → recorded after b was closed, and b is immutable:
 *                                      settled by the first close whose cut-off is ≥ x,
 *                                      i.e. the next period closed after it.
 *        x > max C_q over K          → that close is this one: a late adjustment here.
 *        otherwise                   → not here (`settled_late`): an earlier close took it.
 *   5. b ∉ K and b < P               → not here (`earlier_period_open`): it is a regular line
 *                                      of b when b is closed.
 *   6. b ∉ K and b > P               → not here (`future_period`).
 *
 * Each event is therefore settled exactly once: regular in its own period if recorded
 * before that period closed, otherwise late in exactly one later close. Only comparisons of
 * positions are used: EventStoreDB positions are not consecutive.
 *
 * The cut-off is inclusive: an event at position C was recorded before the close.
 */
export type Membership = 'regular' | 'late' | 'after_cutoff' | 'settled_regular' | 'settled_late' | 'earlier_period_open' | 'future_period';

export type ExclusionReason = Exclude<Membership, 'regular' | 'late'>;

export interface PeriodClose {
  /** The period being closed. */
  periodId: string;
  /** Head position fixed when closing; events at or before it are in scope. */
  cutoffPosition: number;
  /** Periods closed before this one → their cut-off positions. */
  closedCutoffs: ReadonlyMap<string, number>;
}

/** A period close checked once, so classifying millions of events is a few comparisons each. */
export interface PreparedClose {
  readonly periodId: string;
  readonly cutoffPosition: number;
  readonly closedCutoffs: ReadonlyMap<string, number>;
  /** Highest cut-off of any closed period, -1 when none is. */
  readonly lastClosedCutoff: number;
}

export function prepareClose(close: PeriodClose): PreparedClose {
  const { periodId, cutoffPosition, closedCutoffs } = close;
  assert(isPeriodId(periodId), 'period id validated by the caller');
  assert(Number.isSafeInteger(cutoffPosition) && cutoffPosition >= 0, 'cut-off is a store position');
  assert(!closedCutoffs.has(periodId), 'the period being closed is not closed yet (the decider refuses)');
  let lastClosedCutoff = -1;
  for (const [q, cq] of closedCutoffs) {
    assert(isPeriodId(q), 'closed period ids are valid');
    assert(Number.isSafeInteger(cq) && cq >= 0, 'closed cut-offs are store positions');
    // Closes are serialised and positions grow: a later close cannot see less of the log.
    assert(cq <= cutoffPosition, 'this cut-off is not before an earlier close');
    if (cq > lastClosedCutoff) lastClosedCutoff = cq;
  }
  return { periodId, cutoffPosition, closedCutoffs, lastClosedCutoff };
}

/** The rule above, for one event given its business period and global position. */
export function classifyMembership(businessPeriodId: string, position: number, close: PreparedClose): Membership {
  if (position > close.cutoffPosition) return 'after_cutoff';
  if (businessPeriodId === close.periodId) return 'regular';
  const closedAt = close.closedCutoffs.get(businessPeriodId);
  if (closedAt !== undefined) {
    if (position <= closedAt) return 'settled_regular';
    return position > close.lastClosedCutoff ? 'late' : 'settled_late';
  }
  return businessPeriodId < close.periodId ? 'earlier_period_open' : 'future_period';
}

/** A money event settled by a statement, with why. */
export interface SettledEvent {
  streamId: string;
  revision: number;
  membership: 'regular' | 'late';
  event: MoneyEvent;
}

export interface PeriodSelection {
  settled: SettledEvent[];
  /** Money events in the input that this statement does not settle, counted by reason. */
  excluded: Record<ExclusionReason, number>;
}

/**
 * Picks the money events a statement settles out of any slice of the log (typically
 * `readAll` up to the cut-off). Non-money events and other streams are skipped.
 */
export function selectForPeriod(events: Iterable<LedgerEvent>, close: PeriodClose): PeriodSelection {
  const prepared = prepareClose(close);
  const settled: SettledEvent[] = [];
  const excluded: Record<ExclusionReason, number> = {
    after_cutoff: 0,
    settled_regular: 0,
    settled_late: 0,
    earlier_period_open: 0,
    future_period: 0,
  };
  for (const e of events) {
    const result = classifyEvent(e, prepared);
    if (result === undefined) continue;
    if (typeof result === 'string') excluded[result] += 1;
    else settled.push(result);
  }
  return { settled, excluded };
}

/**
 * One stored event: the settled line, why it is not settled here, or undefined when it is
 * no money event at all. For a close that pages through the log into a `StatementBuilder`.
 */
export function classifyEvent(e: LedgerEvent, close: PreparedClose): SettledEvent | ExclusionReason | undefined {
  const event = asMoneyEvent(e);
  if (event === undefined) return undefined;
  const membership = classifyMembership(businessPeriodOf(event.data.occurredAt), e.position, close);
  if (membership === 'regular' || membership === 'late') return { streamId: e.streamId, revision: e.revision, membership, event };
  return membership;
}

/**
 * The closed periods and their cut-offs, folded from `SettlementPeriodClosed` events (of
 * any settlement streams, in any order).
 */
export function closedCutoffsFrom(events: Iterable<{ type: string; data: unknown }>): Map<string, number> {
  const closed = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'SettlementPeriodClosed') continue;
    const { periodId, cutoffPosition } = e.data as { periodId: string; cutoffPosition: number };
    assert(!closed.has(periodId), 'a period is closed once');
    closed.set(periodId, cutoffPosition);
  }
  return closed;
}
