import { Body, Controller, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { IsInt, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { OPERATOR_SPONSOR, PROGRAM_NAME_PATTERN, PROGRAM_POINTS_MAX } from '@ledger/domain';
import { Actor, AwardSurpriseBonusCommand, BonusBody, CommandMeta, RewardActionCommand } from '@ledger/application';
import { CurrentActor, Roles, partnerIdOf } from '../http/auth';
import { RequestMeta } from '../http/request-meta';
import { DISPLAY_NAME_PATTERN, EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE, IsBusinessDateTime, MEMBER_ID_PATTERN } from '../http/validators';
import { answer } from '../transactions/answer';

const MEMBER_ID_RULE = 'must be 1-64 letters, digits, dashes or underscores';

export class SurpriseBonusRequest {
  /** The caller's own id for this reward: the idempotency key, with the partner (or the operator). */
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  externalId!: string;

  @Matches(MEMBER_ID_PATTERN, { message: MEMBER_ID_RULE })
  memberId!: string;

  @IsInt()
  @Min(1)
  @Max(PROGRAM_POINTS_MAX)
  points!: number;

  /** Shown to the member and the auditor: why the points were given. */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  @Matches(DISPLAY_NAME_PATTERN, { message: 'must not contain control or invisible formatting characters' })
  reason!: string;
}

export class ActionRequest {
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  externalId!: string;

  @Matches(MEMBER_ID_PATTERN, { message: MEMBER_ID_RULE })
  memberId!: string;

  /** One of the programme's actions (`bonuses.actions`); another is 404 action_not_found. */
  @Matches(PROGRAM_NAME_PATTERN, { message: 'must be 1-32 lowercase letters, digits, dashes or underscores' })
  action!: string;

  /** Business date of the action: the monthly cap counts by its UTC calendar month. */
  @IsBusinessDateTime()
  occurredAt!: string;
}

/**
 * Bonuses given on request (issue 14 §3): surprise rewards by a partner (which sponsors them)
 * or by an admin (the operator sponsors them), and rewards for a member's actions at the
 * programme's points under their monthly caps. Idempotent as every post.
 */
@Controller('v1')
export class BonusesController {
  constructor(private readonly commands: CommandBus) {}

  @Post('bonuses')
  @Roles('partner', 'admin')
  async surprise(
    @Body() body: SurpriseBonusRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BonusBody> {
    const by = actor.role === 'partner' ? partnerIdOf(actor) : OPERATOR_SPONSOR;
    return answer(reply, await this.commands.execute(new AwardSurpriseBonusCommand({ ...body, by }, meta)));
  }

  @Post('actions')
  @Roles('partner')
  async action(
    @Body() body: ActionRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BonusBody> {
    return answer(reply, await this.commands.execute(new RewardActionCommand({ ...body, partnerId: partnerIdOf(actor) }, meta)));
  }
}
