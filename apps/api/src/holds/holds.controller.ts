import { Body, Controller, Inject, Param, Post, Res } from '@nestjs/common';
import { CommandBus, IQueryHandler, Query, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { AMOUNT_MINOR_MAX, HOLD_TTL_SECONDS_MAX, HOLD_TTL_SECONDS_MIN, NotFound } from '@ledger/domain';
import { EVENT_STORE, EventStore, headPosition } from '@ledger/event-store';
import {
  Actor,
  CaptureBody,
  CaptureHoldCommand,
  CommandMeta,
  HoldBody,
  PlaceHoldCommand,
  ReleaseBody,
  ReleaseHoldCommand,
} from '@ledger/application';
import { CurrentActor, Roles, partnerIdOf } from '../http/auth';
import { RequestMeta } from '../http/request-meta';
import {
  EXTERNAL_ID_PATTERN,
  EXTERNAL_ID_RULE,
  IsBusinessDateTime,
  MEMBER_ID_PATTERN,
  MayBeOmitted,
  PARTNER_ID_PATTERN,
} from '../http/validators';
import { ReadModelAccess } from '../projections/read-model';
import { answer } from '../transactions/answer';

export class PlaceHoldRequest {
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  externalId!: string;

  @Matches(MEMBER_ID_PATTERN, { message: 'must be 1-64 letters, digits, dashes or underscores' })
  memberId!: string;

  @IsInt()
  @Min(1)
  @Max(AMOUNT_MINOR_MAX)
  points!: number;

  @IsInt()
  @Min(HOLD_TTL_SECONDS_MIN, { message: 'must be at least 1 second' })
  @Max(HOLD_TTL_SECONDS_MAX, { message: 'must be at most 30 days (2592000 seconds)' })
  ttlSeconds!: number;

  @IsBusinessDateTime()
  occurredAt!: string;
}

export class CaptureHoldRequest {
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  externalId!: string;

  /** Part of the hold to redeem; all of it when absent. */
  @MayBeOmitted()
  @IsInt()
  @Min(1)
  @Max(AMOUNT_MINOR_MAX)
  points?: number;

  @IsBusinessDateTime()
  occurredAt!: string;
}

export class ReleaseHoldRequest {
  @Matches(EXTERNAL_ID_PATTERN, { message: EXTERNAL_ID_RULE })
  externalId!: string;
}

/** `partnerId:externalId`, as the hold's answer gave it: the two id patterns joined. */
const HOLD_ID_PATTERN = new RegExp(`^${PARTNER_ID_PATTERN.source.slice(1, -1)}:${EXTERNAL_ID_PATTERN.source.slice(1, -1)}$`);

export class HoldIdParam {
  @Matches(HOLD_ID_PATTERN, { message: 'must be a hold id as answered: partnerId:externalId' })
  holdId!: string;
}

/** The member a partner's hold belongs to (a hold id names the partner and receipt, not the member). */
export class HoldMemberQuery extends Query<string> {
  constructor(
    readonly holdId: string,
    readonly partnerId: string,
  ) {
    super();
  }
}

/**
 * Looks the hold up in the holds read model; a hold placed a moment ago may not be projected
 * yet, so a miss waits once for the read models to reach the log's head. Another partner's
 * hold is answered as unknown: 404, so it cannot learn that the hold exists.
 */
@QueryHandler(HoldMemberQuery)
export class HoldMemberHandler implements IQueryHandler<HoldMemberQuery> {
  constructor(
    private readonly readModel: ReadModelAccess,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ holdId, partnerId }: HoldMemberQuery): Promise<string> {
    let hold = await this.readModel.reader().hold(holdId);
    if (hold === undefined) hold = await (await this.readModel.atLeast(await headPosition(this.store))).hold(holdId);
    if (hold === undefined || hold.partnerId !== partnerId) throw new NotFound('hold', holdId);
    return hold.memberId;
  }
}

/** A web shop's checkout: hold points, then capture them (a redemption here) or release them. */
@Controller('v1/holds')
export class HoldsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @Roles('partner')
  async place(
    @Body() body: PlaceHoldRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HoldBody> {
    return answer(reply, await this.commands.execute(new PlaceHoldCommand({ ...body, partnerId: partnerIdOf(actor) }, meta)));
  }

  @Post(':holdId/capture')
  @Roles('partner')
  async capture(
    @Param() { holdId }: HoldIdParam,
    @Body() body: CaptureHoldRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CaptureBody> {
    const partnerId = partnerIdOf(actor);
    const memberId = await this.queries.execute(new HoldMemberQuery(holdId, partnerId));
    return answer(reply, await this.commands.execute(new CaptureHoldCommand({ ...body, partnerId, memberId, holdId }, meta)));
  }

  @Post(':holdId/release')
  @Roles('partner')
  async release(
    @Param() { holdId }: HoldIdParam,
    @Body() body: ReleaseHoldRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReleaseBody> {
    const partnerId = partnerIdOf(actor);
    const memberId = await this.queries.execute(new HoldMemberQuery(holdId, partnerId));
    return answer(reply, await this.commands.execute(new ReleaseHoldCommand({ ...body, partnerId, memberId, holdId }, meta)));
  }
}
