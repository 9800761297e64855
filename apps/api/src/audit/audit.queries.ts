import { Inject, Optional } from '@nestjs/common';
import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import {
  AsOf,
  InclusionProofDocument,
  MemberAsOf,
  PartnerPositionAsOf,
  ReadModelCheck,
  ReplayOptions,
  SqliteReadModelCheck,
  StreamReplay,
  VerifyOptions,
  VerifyReport,
  memberAsOf,
  partnerPositionAsOf,
  provePeriodEvent,
  replayStream,
  verifyLedger,
} from '@ledger/audit';
import { PostgresReadStore, ReadStore } from '@ledger/projections';
import { ReadModelAccess } from '../projections/read-model';

/**
 * Audit queries (issue 7). All of them read the event store only, never the read models
 * (verify compares the read models, it does not trust them).
 */
export class ReplayStreamQuery extends Query<StreamReplay> {
  constructor(
    readonly streamId: string,
    readonly options: ReplayOptions = {},
  ) {
    super();
  }
}

/** A member's balance at a moment: a log position, or a recorded time (see libs/audit as-of.ts). */
export class MemberAsOfQuery extends Query<MemberAsOf> {
  constructor(
    readonly memberId: string,
    readonly asOf: AsOf,
  ) {
    super();
  }
}

/** A partner's position at a moment, folded from the whole log up to it. */
export class PartnerPositionAsOfQuery extends Query<PartnerPositionAsOf> {
  constructor(
    readonly partnerId: string,
    readonly asOf: AsOf,
  ) {
    super();
  }
}

export class VerifyLedgerQuery extends Query<VerifyReport> {
  constructor(
    readonly period?: string,
    /** For a verification job that reports how far it got (the console's verify page). */
    readonly onProgress?: VerifyOptions['onProgress'],
  ) {
    super();
  }
}

export class ProvePeriodEventQuery extends Query<InclusionProofDocument> {
  constructor(
    readonly periodId: string,
    readonly eventId: string,
  ) {
    super();
  }
}

@QueryHandler(ReplayStreamQuery)
export class ReplayStreamHandler implements IQueryHandler<ReplayStreamQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  execute({ streamId, options }: ReplayStreamQuery): Promise<StreamReplay> {
    return replayStream(this.store, streamId, options);
  }
}

@QueryHandler(MemberAsOfQuery)
export class MemberAsOfHandler implements IQueryHandler<MemberAsOfQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  execute({ memberId, asOf }: MemberAsOfQuery): Promise<MemberAsOf> {
    return memberAsOf(this.store, memberId, asOf);
  }
}

@QueryHandler(PartnerPositionAsOfQuery)
export class PartnerPositionAsOfHandler implements IQueryHandler<PartnerPositionAsOfQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  execute({ partnerId, asOf }: PartnerPositionAsOfQuery): Promise<PartnerPositionAsOf> {
    return partnerPositionAsOf(this.store, partnerId, asOf);
  }
}

/**
 * Verify reads the whole log: one run at a time per process, so two auditors pressing the
 * button do not halve each other's speed (the second waits, then runs afresh).
 */
@QueryHandler(VerifyLedgerQuery)
export class VerifyLedgerHandler implements IQueryHandler<VerifyLedgerQuery> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() private readonly readModels?: ReadModelAccess,
  ) {}

  execute({ period, onProgress }: VerifyLedgerQuery): Promise<VerifyReport> {
    const run = this.queue.then(() => this.verify(period, onProgress));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async verify(period: string | undefined, onProgress: VerifyOptions['onProgress']): Promise<VerifyReport> {
    const { check, skipped } = await this.readModelCheck();
    return verifyLedger(this.store, { period, readModel: check, readModelSkipped: skipped, onProgress });
  }

  private async readModelCheck(): Promise<{ check?: ReadModelCheck; skipped?: string }> {
    if (this.readModels === undefined) return { skipped: 'this API serves no read models' };
    try {
      this.readModels.reader(); // 503-style refusal while an external projector has not created it
      const store = this.readModels.store();
      if (store instanceof PostgresReadStore) return { check: await SqliteReadModelCheck.ofPostgres(store) };
      if (store instanceof ReadStore) return { check: SqliteReadModelCheck.of(store) };
      return { skipped: 'the read models are not available yet' };
    } catch (error) {
      return { skipped: `the read models are not available: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
}

@QueryHandler(ProvePeriodEventQuery)
export class ProvePeriodEventHandler implements IQueryHandler<ProvePeriodEventQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  execute({ periodId, eventId }: ProvePeriodEventQuery): Promise<InclusionProofDocument> {
    return provePeriodEvent(this.store, periodId, eventId);
  }
}

export const AUDIT_QUERY_HANDLERS = [
  ReplayStreamHandler,
  MemberAsOfHandler,
  PartnerPositionAsOfHandler,
  VerifyLedgerHandler,
  ProvePeriodEventHandler,
];
