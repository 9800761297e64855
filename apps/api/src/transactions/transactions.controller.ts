import { Body, Controller, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, Matches, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ACCRUAL_ITEMS_MAX, AMOUNT_MINOR_MAX, PROGRAM_NAME_PATTERN, SKU_PATTERN } from '@ledger/domain';
import {
  AccrualBody,
  AccruePointsCommand,
  Actor,
  CommandMeta,
  RedeemPointsCommand,
  RedemptionBody,
  ReversalBody,
  ReverseTransactionCommand,
} from '@ledger/application';
import { CurrentActor, Roles, partnerIdOf } from '../http/auth';
import { RequestMeta } from '../http/request-meta';
import { EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE, IsBusinessDateTime, MEMBER_ID_PATTERN, MayBeOmitted } from '../http/validators';
import { answer } from './answer';

const MEMBER_ID_RULE = 'must be 1-64 letters, digits, dashes or underscores';

class PartnerTransactionRequest {
  /** The partner's own receipt id: the idempotency key, with the partner. */
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  externalId!: string;

  @Matches(MEMBER_ID_PATTERN, { message: MEMBER_ID_RULE })
  memberId!: string;

  /** Business date: when it happened at the till. */
  @IsBusinessDateTime()
  occurredAt!: string;
}

/** A line of the receipt: category multipliers of the partner's earn rule apply per line. */
export class AccrualItemRequest {
  @Matches(SKU_PATTERN, { message: 'must be 1-64 letters, digits or ._:#/-' })
  sku!: string;

  @Matches(PROGRAM_NAME_PATTERN, { message: 'must be 1-32 lowercase letters, digits, dashes or underscores' })
  category!: string;

  @IsInt()
  @Min(0)
  @Max(AMOUNT_MINOR_MAX)
  amountMinor!: number;
}

export class AccrualRequest extends PartnerTransactionRequest {
  @IsInt()
  @Min(1)
  @Max(AMOUNT_MINOR_MAX)
  amountMinor!: number;

  @Matches(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 currency code such as RUB' })
  currency!: string;

  /** Absent, or lines whose amounts add up to amountMinor (the member decider checks the sum: 400 naming `items`). */
  @ValidateIf((_request: object, value: unknown) => value !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(ACCRUAL_ITEMS_MAX)
  @ValidateNested({ each: true })
  @Type(() => AccrualItemRequest)
  items?: AccrualItemRequest[];
}

export class RedemptionRequest extends PartnerTransactionRequest {
  @IsInt()
  @Min(1)
  @Max(AMOUNT_MINOR_MAX)
  points!: number;
}

export class ReversalRequest extends PartnerTransactionRequest {
  /** The receipt id of the accrual or redemption being reversed (posted by the same partner). */
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  originalExternalId!: string;

  /** Part of the original's points; absent, all that remains of it. */
  @MayBeOmitted()
  @IsInt()
  @Min(1)
  @Max(AMOUNT_MINOR_MAX)
  points?: number;
}

/** Partners post their tills' transactions here; the partner is the key's, never the body's. */
@Controller('v1')
export class TransactionsController {
  constructor(private readonly commands: CommandBus) {}

  @Post('accruals')
  @Roles('partner')
  async accrue(
    @Body() body: AccrualRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AccrualBody> {
    return answer(reply, await this.commands.execute(new AccruePointsCommand({ ...body, partnerId: partnerIdOf(actor) }, meta)));
  }

  @Post('redemptions')
  @Roles('partner')
  async redeem(
    @Body() body: RedemptionRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RedemptionBody> {
    return answer(reply, await this.commands.execute(new RedeemPointsCommand({ ...body, partnerId: partnerIdOf(actor) }, meta)));
  }

  @Post('reversals')
  @Roles('partner')
  async reverse(
    @Body() body: ReversalRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReversalBody> {
    return answer(reply, await this.commands.execute(new ReverseTransactionCommand({ ...body, partnerId: partnerIdOf(actor) }, meta)));
  }
}
