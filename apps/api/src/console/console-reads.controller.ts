import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { IsOptional } from 'class-validator';
import { Actor, CLOCK, Clock, cardHolder, loadSettlement } from '@ledger/application';
import { NotFound, Unavailable, memberStream } from '@ledger/domain';
import { EVENT_STORE, EventStore, headPosition } from '@ledger/event-store';
import { StreamReplay, replayStream } from '@ledger/audit';
import { nextPeriodId, periodEndsAt, periodHasEnded, periodStartsAt } from '@ledger/settlement';
import { CurrentActor, Roles } from '../http/auth';
import { MemberIdParam } from '../http/params';
import { IsLuhnCardNumber } from '../http/validators';
import { LiabilityRow, ReadModelReader } from '@ledger/projections';
import { ReadModelAccess } from '../projections/read-model';
import { PeriodIdParam } from '../settlements/settlements.controller';
import { MonthlyActivity, activityMonthRange, monthlyActivity } from './activity';

export class CardLookupQuery {
  @IsOptional()
  @IsLuhnCardNumber()
  cardNumber?: string;
}

export interface PeriodSummary {
  periodId: string;
  periodStartsAt: string;
  periodEndsAt: string;
  status: 'open' | 'closed';
  /** Whether the month is over (a period closes only then). */
  ended: boolean;
  cutoffPosition: number | null;
  closedAt: string | null;
}

export interface ClosePreview extends PeriodSummary {
  /** Whether POST /v1/settlements would close it now, and why not. */
  closable: boolean;
  reason: string | null;
  /**
   * The cut-off a close now would use: the head of the log. A close fixes the head at the
   * moment it runs, so an event recorded between the preview and the close moves it on.
   */
  cutoffPositionNow: number | null;
  headRecordedAt: string | null;
}

/** Without the SQLite transaction index (a PostgreSQL read store): the months that have redemptions. */
function liabilityMonthRange(rows: LiabilityRow[]): { first: string; last: string } | undefined {
  const months = rows.map((r) => r.period).sort();
  return months.length === 0 ? undefined : { first: months[0], last: months[months.length - 1] };
}

/** A month's period id from its first day; `YYYY-MM` of an ISO date. */
const monthOf = (iso: string) => iso.slice(0, 7);

/** At most this many months are listed (a decade), so a stray business date cannot make the list unbounded. */
const PERIODS_LISTED_MAX = 120;

/**
 * Reads the web console needs beyond the rest of the API (issue 18): the months that have
 * activity and whether each is closed, what a close would use as its cut-off, monthly points
 * issued and redeemed, a card-number lookup, and a partner's own rows of a member's history.
 */
@Controller('v1')
export class ConsoleReadsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly readModels: ReadModelAccess,
  ) {}

  @Get('activity/monthly')
  @Roles('partner', 'finance', 'auditor', 'admin')
  activity(@CurrentActor() actor: Actor): { partnerId: string | null; months: MonthlyActivity[] } {
    const partnerId = actor.role === 'partner' ? actor.partnerId : undefined;
    const reader = this.readModels.reader();
    // The monthly sums are one SQL query over the SQLite read store; not yet on PostgreSQL.
    if (!(reader instanceof ReadModelReader)) {
      throw new Unavailable('activity_unavailable', 'monthly activity is read from the SQLite read store; this API reads another');
    }
    return { partnerId: partnerId ?? null, months: monthlyActivity(reader, partnerId) };
  }

  /** Every month from the first business date in the ledger to the current one, oldest first. */
  @Get('settlements')
  @Roles('partner', 'finance', 'auditor', 'admin')
  async periods(): Promise<PeriodSummary[]> {
    const reader = this.readModels.reader();
    const range = reader instanceof ReadModelReader ? activityMonthRange(reader) : liabilityMonthRange(await reader.liability());
    if (range === undefined) return [];
    const now = this.clock.now();
    const current = monthOf(now.toISOString());
    const last = range.last > current ? range.last : current;
    const periods: PeriodSummary[] = [];
    for (let p = range.first; p <= last && periods.length < PERIODS_LISTED_MAX; p = nextPeriodId(p)) {
      periods.push(await this.summary(p, now));
    }
    return periods;
  }

  @Get('settlements/:periodId/close-preview')
  @Roles('finance')
  async closePreview(@Param() { periodId }: PeriodIdParam): Promise<ClosePreview> {
    const now = this.clock.now();
    const summary = await this.summary(periodId, now);
    const head = await headPosition(this.store);
    const [last] = head === undefined ? [] : await this.store.readAll({ direction: 'backwards', maxCount: 1 });
    const reason =
      summary.status === 'closed'
        ? `period ${periodId} is already closed (cut-off ${summary.cutoffPosition})`
        : !summary.ended
          ? `period ${periodId} has not ended yet: it ends at ${summary.periodEndsAt}`
          : null;
    return { ...summary, closable: reason === null, reason, cutoffPositionNow: head ?? null, headRecordedAt: last?.recordedAt ?? null };
  }

  /** `?cardNumber=`: the member a card belongs to, from the card's claim stream (none once the card is replaced). */
  @Get('members')
  @Roles('partner', 'finance', 'auditor', 'admin')
  async byCard(@Query() { cardNumber }: CardLookupQuery): Promise<{ memberId: string; cardNumber: string }> {
    if (cardNumber === undefined) throw new NotFound('member', 'without a cardNumber');
    const memberId = await cardHolder(this.store, cardNumber);
    if (memberId === undefined) throw new NotFound('member', `with card ${cardNumber}`);
    return { memberId, cardNumber };
  }

  /**
   * A member's history with the balance after each event, for finance (auditors and admins
   * also have GET /v1/audit/streams/member-{id}). Partners read their own transactions with
   * the member through GET /v1/members/{id}, which names no other partner.
   */
  @Get('members/:memberId/history')
  @Roles('finance', 'auditor', 'admin')
  async history(@Param() { memberId }: MemberIdParam): Promise<StreamReplay> {
    try {
      return await replayStream(this.store, memberStream(memberId));
    } catch (error) {
      if (error instanceof NotFound) throw new NotFound('member', memberId);
      throw error;
    }
  }

  private async summary(periodId: string, now: Date): Promise<PeriodSummary> {
    const { state } = await loadSettlement(this.store, periodId);
    const closed = state.status === 'closed';
    return {
      periodId,
      periodStartsAt: periodStartsAt(periodId),
      periodEndsAt: periodEndsAt(periodId),
      status: state.status,
      ended: periodHasEnded(periodId, now),
      cutoffPosition: closed ? state.cutoffPosition : null,
      closedAt: closed ? state.closedAt : null,
    };
  }
}
