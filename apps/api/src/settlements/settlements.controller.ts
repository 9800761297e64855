import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { Actor, ClosePeriodCommand, CommandMeta, GetStatementQuery } from '@ledger/application';
import { PERIOD_ID_PATTERN, SettlementStatement, statementCsv, statementForPartner } from '@ledger/settlement';
import { CurrentActor, Roles } from '../http/auth';
import { LedgerMetrics } from '../http/metrics';
import { RequestMeta } from '../http/request-meta';

const PERIOD_RULE = 'must be a calendar month YYYY-MM';

export class ClosePeriodRequest {
  @Matches(PERIOD_ID_PATTERN, { message: PERIOD_RULE })
  periodId!: string;
}

export class PeriodIdParam {
  @Matches(PERIOD_ID_PATTERN, { message: PERIOD_RULE })
  periodId!: string;
}

const CSV_TABLES = ['matrix', 'netPositions', 'transfers'] as const;

export class StatementFormatQuery {
  @IsOptional()
  @IsIn(['json', 'csv'], { message: 'must be json or csv' })
  format?: 'json' | 'csv';

  /** With format=csv: which of the three tables (one CSV each). */
  @IsOptional()
  @IsIn(CSV_TABLES, { message: `must be one of ${CSV_TABLES.join(', ')}` })
  table?: (typeof CSV_TABLES)[number];
}

/** Finance closes periods; finance and auditors read statements; a partner reads its own part. */
@Controller('v1/settlements')
export class SettlementsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    private readonly metrics: LedgerMetrics,
  ) {}

  @Post()
  @Roles('finance')
  close(@Body() body: ClosePeriodRequest, @RequestMeta() meta: CommandMeta): Promise<SettlementStatement> {
    return this.metrics.time(this.metrics.settlementDuration, () => this.commands.execute(new ClosePeriodCommand(body.periodId, meta)));
  }

  @Get(':periodId')
  @Roles('finance', 'auditor', 'admin', 'partner')
  async get(
    @Param() { periodId }: PeriodIdParam,
    @Query() { format = 'json', table = 'matrix' }: StatementFormatQuery,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const full = await this.queries.execute(new GetStatementQuery(periodId));
    const statement = actor.role === 'partner' && actor.partnerId ? statementForPartner(full, actor.partnerId) : full;
    if (format === 'json') return statement;
    void reply
      .header('Content-Type', 'text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="settlement-${periodId}-${table}.csv"`);
    return statementCsv(statement as SettlementStatement)[table];
  }
}
