import { Controller, Get, Query as QueryParam, Res } from '@nestjs/common';
import { IQueryHandler, Query, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { InvalidInput } from '@ledger/domain';
import { ProgramReport, ProgramWindow, programReportCsv, programWindow } from '@ledger/projections';
import { Roles } from '../http/auth';
import { AS_OF_POSITION_HEADER } from '../projections/positions.controller';
import { ReadModelAccess } from '../projections/read-model';
import { parseMinPosition } from '../projections/read-model.queries';

export class GetProgramReportQuery extends Query<ProgramReport> {
  constructor(
    readonly window: ProgramWindow,
    readonly minPosition?: number,
  ) {
    super();
  }
}

@QueryHandler(GetProgramReportQuery)
export class GetProgramReportHandler implements IQueryHandler<GetProgramReportQuery> {
  constructor(private readonly readModel: ReadModelAccess) {}

  async execute({ window, minPosition }: GetProgramReportQuery): Promise<ProgramReport> {
    return (await this.readModel.atLeast(minPosition)).programReport(window);
  }
}

/**
 * Programme KPIs (issue 14, point 6) from the program-kpis read model: staff who read the
 * books (finance, admin, and the auditor, read-only like every auditor route); not partners,
 * whose keys see their own books only and this report names every partner.
 */
@Controller('v1/reports')
export class ProgramReportController {
  constructor(private readonly queries: QueryBus) {}

  @Get('program')
  @Roles('finance', 'auditor', 'admin')
  async program(
    @QueryParam('from') from: unknown,
    @QueryParam('to') to: unknown,
    @QueryParam('format') format: unknown,
    @QueryParam('minPosition') minPosition: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProgramReport | string> {
    if (format !== undefined && format !== 'json' && format !== 'csv') throw new InvalidInput('format', 'must be json or csv');
    const window = programWindow(from, to);
    const report = await this.queries.execute(new GetProgramReportQuery(window, parseMinPosition(minPosition)));
    if (report.asOfPosition !== null) void reply.header(AS_OF_POSITION_HEADER, String(report.asOfPosition));
    if (format !== 'csv') return report;
    void reply
      .header('Content-Type', 'text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="program-${window.from}-${window.to}.csv"`);
    return programReportCsv(report);
  }
}
