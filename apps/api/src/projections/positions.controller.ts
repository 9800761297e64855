import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { Actor } from '@ledger/application';
import { PartnerPosition } from '@ledger/projections';
import { CurrentActor, Roles, assertOwnPartner } from '../http/auth';
import { PartnerIdParam } from '../http/params';
import { GetPartnerPositionQuery, ListPartnerPositionsQuery, parseMinPosition } from './read-model.queries';
import { PartnerPositionAsOfQuery, parseAsOfParam } from '../audit';

/** Header on every read-model answer: the position the answer reflects. */
export const AS_OF_POSITION_HEADER = 'Ledger-As-Of-Position';

/** Partner positions from the read models (issue 5). */
@Controller('v1/partners')
export class PartnerPositionsController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @Roles('finance', 'auditor', 'admin')
  async list(@Query('minPosition') minPosition: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<PartnerPosition[]> {
    const positions = await this.queries.execute(new ListPartnerPositionsQuery(parseMinPosition(minPosition)));
    if (positions.length > 0) void reply.header(AS_OF_POSITION_HEADER, String(positions[0].asOfPosition));
    return positions;
  }

  @Get(':partnerId/position')
  @Roles('partner', 'finance', 'auditor', 'admin')
  async position(
    @Param() { partnerId }: PartnerIdParam,
    @Query('minPosition') minPosition: unknown,
    @Query('asOf') asOfParam: unknown,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PartnerPosition> {
    // Before any wait: another partner's books are refused outright.
    assertOwnPartner(actor, partnerId);
    // `?asOf=` is computed from the events up to that moment, not from the read model.
    const asOf = parseAsOfParam(asOfParam);
    const position = await this.queries.execute(
      asOf ? new PartnerPositionAsOfQuery(partnerId, asOf) : new GetPartnerPositionQuery(partnerId, parseMinPosition(minPosition)),
    );
    void reply.header(AS_OF_POSITION_HEADER, String(position.asOfPosition));
    return position;
  }
}
