import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Conflict, PartnerEvent, PartnerState, PartnerTerms, Refused, evolvePartner, initialPartner } from '@ledger/domain';
import { LeafEvent, merkleRoot, periodLeafHashes } from '@ledger/audit';
import { EVENT_STORE, EventStore, RecordedEvent, WrongExpectedVersion } from '@ledger/event-store';
import {
  SettlementStatement,
  StatementBuilder,
  sealStatement,
  checkPeriodId,
  classifyEvent,
  periodHasEnded,
  closedCutoffsFrom,
  decideSettlement,
  prepareClose,
  settlementStream,
} from '@ledger/settlement';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided } from '../shared/event-stream';
import { loadCoalition, requireConfigured } from '../shared/reference-data';
import { headPosition, scanLog } from '../shared/scan-log';
import { loadSettlement } from './settlement-stream';

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

/** What, besides the money events, a statement is calculated with: partners' terms and earlier closes. */
export interface SettlementReferences {
  partnerTerms: Map<string, PartnerTerms[]>;
  closedCutoffs: Map<string, number>;
}

/** First pass over the log up to the cut-off: partner terms and the closes made before. */
export async function readSettlementReferences(store: EventStore, cutoffPosition: number): Promise<SettlementReferences> {
  const partners = new Map<string, PartnerState>();
  const closes: RecordedEvent[] = [];
  await scanLog(store, cutoffPosition, (e) => {
    if (e.streamId.startsWith('partner-')) {
      partners.set(e.streamId, evolvePartner(partners.get(e.streamId) ?? initialPartner(), { type: e.type, data: e.data } as PartnerEvent));
    } else if (e.type === 'SettlementPeriodClosed') {
      closes.push(e);
    }
  });
  const partnerTerms = new Map<string, PartnerTerms[]>();
  for (const p of partners.values()) if (p.status !== 'none') partnerTerms.set(p.partnerId, p.terms);
  return { partnerTerms, closedCutoffs: closedCutoffsFrom(closes) };
}

/**
 * Calculates a period's statement at a cut-off from the log alone (also used to re-verify a
 * filed one). Two passes, so memory stays flat however long the log: references first,
 * then each money event is classified and added as it is read.
 */
export async function calculatePeriodStatement(
  store: EventStore,
  periodId: string,
  cutoffPosition: number,
  coalition: { currency: string; pointValueMinor: number },
  onPage?: (position: number) => void,
): Promise<SettlementStatement> {
  const { partnerTerms, closedCutoffs } = await readSettlementReferences(store, cutoffPosition);
  // A statement being re-verified must not count its own close, or later ones, among the earlier.
  closedCutoffs.delete(periodId);
  for (const [q, c] of closedCutoffs) if (c > cutoffPosition) closedCutoffs.delete(q);
  const close = prepareClose({ periodId, cutoffPosition, closedCutoffs });
  const builder = new StatementBuilder(
    { periodId, currency: coalition.currency, pointValueMinor: coalition.pointValueMinor, cutoffPosition },
    partnerTerms,
  );
  const leaves: LeafEvent[] = [];
  await scanLog(
    store,
    cutoffPosition,
    (e) => {
      const settled = classifyEvent(e, close);
      if (typeof settled !== 'object') return;
      builder.add(settled);
      leaves.push({ streamId: e.streamId, revision: e.revision, hash: String(e.metadata.hash) });
    },
    onPage,
  );
  // The statement names the exact events it settles: an auditor can prove any one is in it.
  const { sha256: _unsealed, ...body } = builder.build();
  return sealStatement({ ...body, eventsMerkleRoot: merkleRoot(periodLeafHashes(leaves)) });
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
    const statement = await calculatePeriodStatement(this.store, periodId, cutoffPosition, coalition, (p) =>
      onProgress?.(p, cutoffPosition),
    );
    const events = decideSettlement({ type: 'ClosePeriod', data: { periodId, cutoffPosition, statement } }, loaded.state, now);
    try {
      await appendDecided(this.store, stream, loaded, events, meta, now.toISOString());
    } catch (err) {
      if (err instanceof WrongExpectedVersion) throw new Conflict('period_closed', `period ${periodId} was closed meanwhile`);
      throw err;
    }
    return statement;
  }
}
