import { Inject } from '@nestjs/common';
import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { SettlementStatement } from '@ledger/settlement';
import { requireStatement } from './settlement-stream';

export class GetStatementQuery extends Query<SettlementStatement> {
  constructor(readonly periodId: string) {
    super();
  }
}

@QueryHandler(GetStatementQuery)
export class GetStatementHandler implements IQueryHandler<GetStatementQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  execute({ periodId }: GetStatementQuery): Promise<SettlementStatement> {
    return requireStatement(this.store, periodId);
  }
}
