import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { IsOptional, Matches } from 'class-validator';
import { Actor, CommandMeta, EnrolMemberCommand, EnrolledBody, GetMemberQuery, MemberView, TxOutcome } from '@ledger/application';
import { CurrentActor, Roles } from '../http/auth';
import { MemberIdParam } from '../http/params';
import { RequestMeta } from '../http/request-meta';
import { IsCalendarDate, IsLuhnCardNumber, MEMBER_ID_PATTERN } from '../http/validators';
import { answer } from '../transactions/answer';

export class EnrolMemberRequest {
  @IsOptional()
  @Matches(MEMBER_ID_PATTERN, { message: 'must be 1-64 letters, digits, dashes or underscores' })
  memberId?: string;

  @IsLuhnCardNumber()
  cardNumber!: string;

  @IsOptional() @IsCalendarDate()
  birthDate?: string;
}

@Controller('v1/members')
export class MembersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @Roles('partner', 'admin')
  async enrol(
    @Body() body: EnrolMemberRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EnrolledBody> {
    const outcome: TxOutcome<EnrolledBody> = await this.commands.execute(
      new EnrolMemberCommand({ ...body, enrolledBy: actor.partnerId ?? null }, meta),
    );
    return answer(reply, outcome);
  }

  @Get(':memberId')
  @Roles('partner', 'finance', 'auditor', 'admin')
  async get(@Param() { memberId }: MemberIdParam): Promise<Pick<MemberView, 'memberId' | 'available' | 'held' | 'lifetimeAccrued' | 'lifetimeRedeemed' | 'lots'>> {
    const view: MemberView = await this.queries.execute(new GetMemberQuery(memberId));
    const { cardNumber: _card, ...rest } = view;
    return rest;
  }
}
