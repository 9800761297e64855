import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { Matches } from 'class-validator';
import { PROGRAM_NAME_PATTERN } from '@ledger/domain';
import { Actor, CommandMeta, MembershipBody, PurchaseMembershipCommand } from '@ledger/application';
import { CurrentActor, Roles, partnerIdOf } from '../http/auth';
import { MemberIdParam } from '../http/params';
import { RequestMeta } from '../http/request-meta';
import { EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE, IsBusinessDateTime } from '../http/validators';
import { answer } from '../transactions/answer';

export class PurchaseMembershipRequest {
  /** The selling partner's receipt id: the idempotency key, with the partner. */
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  externalId!: string;

  /** One of the programme's plans in force at occurredAt; another is 404 plan_not_found. */
  @Matches(PROGRAM_NAME_PATTERN, { message: 'must be 1-32 lowercase letters, digits, dashes or underscores' })
  planId!: string;

  /** Business date of the sale: the plan is valid from it for the plan's months. */
  @IsBusinessDateTime()
  occurredAt!: string;
}

/** Paid membership (issue 14 §4): a partner sells a member one of the programme's plans. */
@Controller('v1/members')
export class MembershipController {
  constructor(private readonly commands: CommandBus) {}

  @Post(':memberId/membership')
  @Roles('partner')
  async purchase(
    @Param() { memberId }: MemberIdParam,
    @Body() body: PurchaseMembershipRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MembershipBody> {
    const command = new PurchaseMembershipCommand({ ...body, memberId, partnerId: partnerIdOf(actor) }, meta);
    return answer(reply, await this.commands.execute(command));
  }
}
