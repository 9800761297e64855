import { Inject } from '@nestjs/common';
import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { AccrualItem, AppliedMultiplier, NotFound, PointsAccrued, TierChanged, memberStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';

/**
 * Why a transaction earned what it did (issue 14 §1): for an accrual, the base points, each
 * multiplier with its source and the one rounding; for any other transaction, what it moved.
 * Read from the member's stream, not a read model: the answer is the recorded fact.
 */
export interface TransactionExplanation {
  txId: string;
  memberId: string;
  partnerId: string;
  type: string;
  occurredAt: string;
  points: number;
  position: number;
  accrual?: {
    amountMinor: number;
    currency: string;
    items: AccrualItem[];
    basePoints: number;
    multipliers: AppliedMultiplier[];
    /** How the points follow from the above (README "Earn rules"). */
    rounding: 'down, once, after every multiplier';
    /** The upgrade this accrual brought, if it crossed a tier threshold. */
    tierChange: { fromTierId: string | null; toTierId: string | null; qualifyingPoints: number } | null;
  };
}

export class ExplainTransactionQuery extends Query<TransactionExplanation> {
  constructor(
    readonly memberId: string,
    readonly txId: string,
    /** A partner key sees only its own transactions: another's is as unknown as one that never was. */
    readonly partnerId: string | null,
  ) {
    super();
  }
}

@QueryHandler(ExplainTransactionQuery)
export class ExplainTransactionHandler implements IQueryHandler<ExplainTransactionQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ memberId, txId, partnerId }: ExplainTransactionQuery): Promise<TransactionExplanation> {
    const events = await this.store.readStream(memberStream(memberId));
    if (events.length === 0) throw new NotFound('member', memberId);
    const first = events.find((e) => (e.data as { txId?: unknown }).txId === txId && e.type !== 'TierChanged');
    const data = first?.data as { partnerId?: string; points?: number; occurredAt?: string } | undefined;
    if (first === undefined || data === undefined || (partnerId !== null && data.partnerId !== partnerId)) {
      throw new NotFound('transaction', txId);
    }
    const answer: TransactionExplanation = {
      txId,
      memberId,
      partnerId: String(data.partnerId),
      type: first.type,
      occurredAt: String(data.occurredAt),
      points: Number(data.points ?? 0),
      position: first.position,
    };
    if (first.type !== 'PointsAccrued') return answer;
    const d = first.data as PointsAccrued['data'];
    const tier = events.find((e) => e.type === 'TierChanged' && (e.data as TierChanged['data']).txId === txId)?.data as
      TierChanged['data'] | undefined;
    answer.accrual = {
      amountMinor: d.amountMinor,
      currency: d.currency,
      items: d.items ?? [],
      // An accrual recorded without a breakdown earned its base points under no multiplier.
      basePoints: d.basePoints ?? d.points,
      multipliers: d.multipliers ?? [],
      rounding: 'down, once, after every multiplier',
      tierChange: tier ? { fromTierId: tier.fromTierId, toTierId: tier.toTierId, qualifyingPoints: tier.qualifyingPoints } : null,
    };
    return answer;
  }
}
