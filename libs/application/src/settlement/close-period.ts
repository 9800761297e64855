import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Conflict, Refused } from '@ledger/domain';
import { EVENT_STORE, EventStore, WrongExpectedVersion, headPosition } from '@ledger/event-store';
import {
  SettlementStatement,
  calculateCloseStatement,
  checkPeriodId,
  decideSettlement,
  loadSettlement,
  periodHasEnded,
  settlementStream,
} from '@ledger/settlement';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided } from '../shared/event-stream';
import { loadCoalition, requireConfigured } from '../shared/reference-data';

export class ClosePeriodCommand extends Command<SettlementStatement> {
  constructor(
    readonly periodId: string,
    readonly meta: CommandMeta,
    /** Called with the position reached while reading the log (for a progress bar). */
    readonly onProgress?: (position: number, cutoffPosition: number) => void,
  ) {
    super();
  }
}

/**
 * Closing a period: fix the cut-off at the head of the log, calculate the statement from
 * the events up to it, and append both facts to `settlement-{period}` (no_stream: a period
 * closes once). Closes in this process are serialised so each sees the ones before it.
 */
@CommandHandler(ClosePeriodCommand)
export class ClosePeriodHandler implements ICommandHandler<ClosePeriodCommand> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute(command: ClosePeriodCommand): Promise<SettlementStatement> {
    const run = this.queue.then(() => this.close(command));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async close({ periodId, meta, onProgress }: ClosePeriodCommand): Promise<SettlementStatement> {
    checkPeriodId(periodId);
    const now = this.clock.now();
    const stream = settlementStream(periodId);
    const loaded = await loadSettlement(this.store, periodId);
    const coalition = requireConfigured((await loadCoalition(this.store)).state);
    const cutoffPosition = (await headPosition(this.store)) ?? 0;
    // The decider refuses these too; asking first spares reading the whole log for nothing.
    if (loaded.state.status === 'closed') throw new Conflict('period_closed', `period ${periodId} is already closed`);
    if (!periodHasEnded(periodId, now)) throw new Refused('period_not_ended', `period ${periodId} has not ended yet`);
    // Off the event loop where the store allows (a SQLite file: a worker thread), so the
    // writes answered meanwhile do not wait for the whole log to be read and hashed.
    const statement = await calculateCloseStatement(this.store, periodId, cutoffPosition, coalition, (p) =>
      onProgress?.(p, cutoffPosition),
    );
    const events = decideSettlement({ type: 'ClosePeriod', data: { periodId, cutoffPosition, statement } }, loaded.state, now);
    // Another process may have closed another period since the cut-off: this statement
    // would then not know that close. Refuse rather than file it; a retry sees the close.
    const overtaken = await closeRecordedAfter(this.store, cutoffPosition);
    if (overtaken === periodId) throw new Conflict('period_closed', `period ${periodId} was closed meanwhile`);
    if (overtaken !== undefined) {
      throw new Conflict('close_overtaken', `period ${overtaken} was closed while ${periodId} was being calculated; retry`);
    }
    // The commit point: no_stream on settlement-{period}, decided by the store, so of two
    // processes closing the same period at once exactly one writes.
    try {
      await appendDecided(this.store, stream, loaded, events, meta, now.toISOString());
    } catch (err) {
      if (err instanceof WrongExpectedVersion) throw new Conflict('period_closed', `period ${periodId} was closed meanwhile`);
      throw err;
    }
    return statement;
  }
}

/** The period of a close recorded after `cutoffPosition`, if any. */
async function closeRecordedAfter(store: EventStore, cutoffPosition: number): Promise<string | undefined> {
  const PAGE = 1_000;
  let from = cutoffPosition;
  // Bounded by the log's length: each page moves `from` forward or ends the loop.
  for (;;) {
    const page = (await store.readAll({ fromPosition: from, maxCount: PAGE + 1 })).filter((e) => e.position > from);
    const close = page.find((e) => e.type === 'SettlementPeriodClosed');
    if (close) return String((close.data as { periodId?: unknown }).periodId);
    if (page.length < PAGE) return undefined;
    from = page[page.length - 1].position;
  }
}
