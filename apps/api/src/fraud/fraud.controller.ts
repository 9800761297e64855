import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { IQueryHandler, Query as CqrsQuery, QueryHandler } from '@nestjs/cqrs';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import {
  BlockCardCommand,
  CardBody,
  CommandMeta,
  PartnerStatusBody,
  ReinstatePartnerCommand,
  ReplaceCardCommand,
  SuspendPartnerCommand,
} from '@ledger/application';
import { FlagEntry } from '@ledger/projections';
import { Roles } from '../http/auth';
import { MemberIdParam, PartnerIdParam } from '../http/params';
import { RequestMeta } from '../http/request-meta';
import { DISPLAY_NAME_PATTERN, IsLuhnCardNumber, MEMBER_ID_PATTERN } from '../http/validators';
import { answer } from '../transactions/answer';
import { AS_OF_POSITION_HEADER } from '../projections/positions.controller';
import { parseMinPosition } from '../projections/read-model.queries';
import { ReadModelAccess } from '../projections/read-model';

export class CardNumberParam {
  @IsLuhnCardNumber()
  cardNumber!: string;
}

/** Why: kept on the event, for the auditor who reads it later. */
export class ReasonRequest {
  @IsString()
  @Length(1, 200)
  @Matches(DISPLAY_NAME_PATTERN, { message: 'must not contain control or formatting characters' })
  reason!: string;
}

export class ReplacementCardRequest {
  @IsLuhnCardNumber()
  cardNumber!: string;
}

export class FlagsQuery {
  @IsOptional()
  @Matches(MEMBER_ID_PATTERN, { message: 'must be 1-64 letters, digits, dashes or underscores' })
  memberId?: string;

  @IsOptional()
  @IsString()
  minPosition?: string;
}

export interface FlagsReport {
  flags: FlagEntry[];
  asOfPosition: number | null;
}

export class ListFlagsQuery extends CqrsQuery<FlagsReport> {
  constructor(
    readonly memberId: string | undefined,
    readonly minPosition: number | undefined,
  ) {
    super();
  }
}

@QueryHandler(ListFlagsQuery)
export class ListFlagsHandler implements IQueryHandler<ListFlagsQuery> {
  constructor(private readonly readModel: ReadModelAccess) {}

  async execute({ memberId, minPosition }: ListFlagsQuery): Promise<FlagsReport> {
    const reader = await this.readModel.atLeast(minPosition);
    const [flags, position] = await Promise.all([reader.flags(memberId), reader.position()]);
    return { flags, asOfPosition: position ?? null };
  }
}

/**
 * Fraud controls (issue 14 §5): block a card and issue its replacement, suspend and
 * reinstate a partner, and the report of accruals a velocity limit refused.
 */
@Controller('v1')
export class FraudController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  /** By an admin, or the partner that enrolled the member; to any other partner the card does not exist (404). */
  @Post('cards/:cardNumber/block')
  @HttpCode(200)
  @Roles('partner', 'admin')
  block(@Param() { cardNumber }: CardNumberParam, @Body() { reason }: ReasonRequest, @RequestMeta() meta: CommandMeta): Promise<CardBody> {
    return this.commands.execute(new BlockCardCommand({ cardNumber, reason }, meta));
  }

  @Post('members/:memberId/cards')
  @Roles('partner', 'admin')
  async replaceCard(
    @Param() { memberId }: MemberIdParam,
    @Body() { cardNumber }: ReplacementCardRequest,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CardBody> {
    return answer(reply, await this.commands.execute(new ReplaceCardCommand({ memberId, cardNumber }, meta)));
  }

  @Post('partners/:partnerId/suspend')
  @HttpCode(200)
  @Roles('admin')
  suspend(
    @Param() { partnerId }: PartnerIdParam,
    @Body() { reason }: ReasonRequest,
    @RequestMeta() meta: CommandMeta,
  ): Promise<PartnerStatusBody> {
    return this.commands.execute(new SuspendPartnerCommand({ partnerId, reason }, meta));
  }

  @Post('partners/:partnerId/reinstate')
  @HttpCode(200)
  @Roles('admin')
  reinstate(@Param() { partnerId }: PartnerIdParam, @RequestMeta() meta: CommandMeta): Promise<PartnerStatusBody> {
    return this.commands.execute(new ReinstatePartnerCommand({ partnerId }, meta));
  }

  @Get('reports/flags')
  @Roles('auditor', 'admin')
  async flags(@Query() { memberId, minPosition }: FlagsQuery, @Res({ passthrough: true }) reply: FastifyReply): Promise<FlagsReport> {
    const report = await this.queries.execute(new ListFlagsQuery(memberId, parseMinPosition(minPosition)));
    if (report.asOfPosition !== null) void reply.header(AS_OF_POSITION_HEADER, String(report.asOfPosition));
    return report;
  }
}
