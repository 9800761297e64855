import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { SettlementStatement } from '@ledger/settlement';
import { requireStatement } from './settlement-stream';

export class GetStatementQuery {
  constructor(readonly periodId: string) {}
}

@QueryHandler(GetStatementQuery)
export class GetStatementHandler implements IQueryHandler<GetStatementQuery, SettlementStatement> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  execute({ periodId }: GetStatementQuery): Promise<SettlementStatement> {
    return requireStatement(this.store, periodId);
  }
}
