import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Conflict, Refused } from '@ledger/domain';
import { EVENT_STORE, EventStore, WrongExpectedVersion, headPosition } from '@ledger/event-store';
import {
  CLOSE_SEQUENCE_STREAM,
  PeriodCloseSequenced,
  SettlementStatement,
  calculateCloseStatement,
  checkPeriodId,
  decideSettlement,
  loadCloseSequence,
  loadSettlement,
  periodHasEnded,
  settlementStream,
} from '@ledger/settlement';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { decidedAppend } from '../shared/event-stream';
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
    // Read before the cut-off is fixed: a close sequenced after this read makes our append refused.
    const sequence = await loadCloseSequence(this.store);
    // The decider refuses these too; asking first spares reading the whole log for nothing.
    if (loaded.state.status === 'closed') throw new Conflict('period_closed', `period ${periodId} is already closed`);
    if (!periodHasEnded(periodId, now)) throw new Refused('period_not_ended', `period ${periodId} has not ended yet`);
    // The last close sequenced and not filed: in progress in another process, or cut off by a
    // crash between the two appends (EventStoreDB only). Our own: finish it, at its cut-off.
    const unfiled = sequence.last && (await loadSettlement(this.store, sequence.last.periodId)).state.status !== 'closed';
    if (unfiled && sequence.last!.periodId !== periodId) {
      const other = sequence.last!.periodId;
      throw new Conflict('close_overtaken', `the close of ${other} is not filed yet; retry (if it was interrupted, close ${other} again)`);
    }
    const resuming = unfiled === true;
    const cutoffPosition = resuming ? sequence.last!.cutoffPosition : ((await headPosition(this.store)) ?? 0);
    // Off the event loop where the store allows (a SQLite file: a worker thread), so the
    // writes answered meanwhile do not wait for the whole log to be read and hashed.
    const statement = await calculateCloseStatement(this.store, periodId, cutoffPosition, coalition, (p) =>
      onProgress?.(p, cutoffPosition),
    );
    const events = decideSettlement({ type: 'ClosePeriod', data: { periodId, cutoffPosition, statement } }, loaded.state, now);
    // A close filed by a process that does not sequence its closes (an older version) since the cut-off.
    const overtaken = await closeRecordedAfter(this.store, cutoffPosition);
    if (overtaken === periodId) throw new Conflict('period_closed', `period ${periodId} was closed meanwhile`);
    if (overtaken !== undefined) {
      throw new Conflict('close_overtaken', `period ${overtaken} was closed while ${periodId} was being calculated; retry`);
    }
    const occurredAt = now.toISOString();
    const filing = decidedAppend(stream, loaded, events, meta, occurredAt);
    const sequenced: PeriodCloseSequenced = {
      type: 'PeriodCloseSequenced',
      data: { sequence: sequence.revision + 1, periodId, cutoffPosition },
    };
    const claim = decidedAppend(CLOSE_SEQUENCE_STREAM, { state: undefined, ...sequence }, [sequenced], meta, occurredAt);
    // The commit points, decided by the store: the sequence at the revision read before the
    // cut-off (of two closes calculated at once, one files, the other is overtaken), and
    // settlement-{period} at no_stream (a period closes once).
    try {
      if (resuming) {
        await this.store.appendToStream(stream, filing.append.events, { expectedRevision: filing.append.expectedRevision });
      } else if (typeof this.store.appendToStreams === 'function') {
        await this.store.appendToStreams([claim.append, filing.append]);
      } else {
        // EventStoreDB: two appends; a crash between them is finished by closing the period again.
        await this.store.appendToStream(CLOSE_SEQUENCE_STREAM, claim.append.events, { expectedRevision: claim.append.expectedRevision });
        await this.store.appendToStream(stream, filing.append.events, { expectedRevision: filing.append.expectedRevision });
      }
    } catch (err) {
      if (!(err instanceof WrongExpectedVersion)) throw err;
      if (err.streamId === CLOSE_SEQUENCE_STREAM) {
        const latest = (await loadCloseSequence(this.store)).last;
        if (latest?.periodId === periodId) throw new Conflict('period_closed', `period ${periodId} was closed meanwhile`);
        throw new Conflict(
          'close_overtaken',
          `period ${latest?.periodId ?? 'another'} was closed while ${periodId} was being calculated; retry`,
        );
      }
      throw new Conflict('period_closed', `period ${periodId} was closed meanwhile`);
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
