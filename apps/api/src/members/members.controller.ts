import { Body, Controller, Get, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyReply } from 'fastify';
import { Matches } from 'class-validator';
import { Actor, CLOCK, Clock, CommandMeta, EnrolMemberCommand, EnrolledBody } from '@ledger/application';
import { MemberBalance } from '@ledger/projections';
import { CurrentActor, Roles, partnerIdOf } from '../http/auth';
import { MemberIdParam } from '../http/params';
import { RequestMeta } from '../http/request-meta';
import { IsCalendarDate, IsLuhnCardNumber, MEMBER_ID_PATTERN, MayBeOmitted } from '../http/validators';
import { answer } from '../transactions/answer';
import { AS_OF_POSITION_HEADER } from '../projections/positions.controller';
import { GetMemberBalanceQuery, parseMinPosition } from '../projections/read-model.queries';
import { MemberAsOfQuery, parseAsOfParam } from '../audit';
import { PartnerMemberBody, PartnerTransactionsQuery, partnerMemberView } from './partner-member-view';
import { ExplainTransactionQuery, TransactionExplanation } from './explain-transaction';

/** A transaction id is `partnerId:externalId`. */
export class MemberTransactionParams extends MemberIdParam {
  @Matches(/^[a-z0-9][a-z0-9-]{0,31}:[A-Za-z0-9][A-Za-z0-9.:#_-]{0,63}$/, { message: 'must be partnerId:externalId' })
  txId!: string;
}

export type MemberBody = Pick<
  MemberBalance,
  'memberId' | 'available' | 'held' | 'pending' | 'lifetimeAccrued' | 'lifetimeRedeemed' | 'lots' | 'expiringSoon' | 'tier'
>;

export class EnrolMemberRequest {
  @MayBeOmitted()
  @Matches(MEMBER_ID_PATTERN, { message: 'must be 1-64 letters, digits, dashes or underscores' })
  memberId?: string;

  @IsLuhnCardNumber()
  cardNumber!: string;

  @MayBeOmitted()
  @IsCalendarDate()
  birthDate?: string;

  /** The member who referred this one: both get the programme's referral bonus at this member's first purchase. */
  @MayBeOmitted()
  @Matches(MEMBER_ID_PATTERN, { message: 'must be 1-64 letters, digits, dashes or underscores' })
  referredBy?: string;
}

@Controller('v1/members')
export class MembersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @Roles('partner', 'admin')
  async enrol(
    @Body() body: EnrolMemberRequest,
    @CurrentActor() actor: Actor,
    @RequestMeta() meta: CommandMeta,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EnrolledBody> {
    const outcome = await this.commands.execute(new EnrolMemberCommand({ ...body, enrolledBy: actor.partnerId ?? null }, meta));
    return answer(reply, outcome);
  }

  /**
   * From the read model (issue 5): `?minPosition=` waits for a write the caller made.
   * `?asOf=` (a log position or a recorded time) folds the member's events up to that
   * moment instead, independent of the read model (issue 7). Staff keys get the full
   * record; a partner key gets its till's view (partner-member-view.ts).
   */
  /**
   * Explains one of the member's transactions: for an accrual, the base points, every multiplier
   * and its source (category, campaign, threshold, tier, plan) and the tier change it brought.
   * A partner key sees only its own transactions (another's: 404, as if it did not exist).
   */
  @Get(':memberId/transactions/:txId')
  @Roles('partner', 'finance', 'auditor', 'admin')
  explain(@Param() { memberId, txId }: MemberTransactionParams, @CurrentActor() actor: Actor): Promise<TransactionExplanation> {
    return this.queries.execute(new ExplainTransactionQuery(memberId, txId, actor.role === 'partner' ? partnerIdOf(actor) : null));
  }

  @Get(':memberId')
  @Roles('partner', 'finance', 'auditor', 'admin')
  async get(
    @Param() { memberId }: MemberIdParam,
    @Query('minPosition') minPosition: unknown,
    @Query('asOf') asOfParam: unknown,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MemberBody | PartnerMemberBody> {
    const asOf = parseAsOfParam(asOfParam);
    const atMoment = asOf ? await this.queries.execute(new MemberAsOfQuery(memberId, asOf)) : undefined;
    const member = atMoment ?? (await this.queries.execute(new GetMemberBalanceQuery(memberId, parseMinPosition(minPosition))));
    void reply.header(AS_OF_POSITION_HEADER, String(member.asOfPosition));
    if (actor.role === 'partner') {
      const partnerId = partnerIdOf(actor);
      const transactions = await this.queries.execute(new PartnerTransactionsQuery(memberId, partnerId, member.asOfPosition));
      // "Expiring soon" counts from the moment answered: now, or the as-of moment.
      const recordedAt = atMoment?.asOf.recordedAt;
      const at = recordedAt !== undefined ? new Date(recordedAt) : this.clock.now();
      return partnerMemberView(member, partnerId, transactions, at);
    }
    const { available, held, pending, lifetimeAccrued, lifetimeRedeemed, lots, expiringSoon, tier } = member;
    return { memberId: member.memberId, available, held, pending, lifetimeAccrued, lifetimeRedeemed, lots, expiringSoon, tier };
  }
}
