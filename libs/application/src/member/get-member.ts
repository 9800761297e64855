import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { NotFound } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { loadMember } from './member-stream';

export class GetMemberQuery {
  constructor(readonly memberId: string) {}
}

export interface MemberView {
  memberId: string;
  cardNumber: string;
  available: number;
  held: number;
  lifetimeAccrued: number;
  lifetimeRedeemed: number;
  lots: { lotId: string; issuerPartnerId: string; points: number; expiresAt: string }[];
}

/** Folds the member's own stream: always current, cost proportional to that member's history. */
@QueryHandler(GetMemberQuery)
export class GetMemberHandler implements IQueryHandler<GetMemberQuery, MemberView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ memberId }: GetMemberQuery): Promise<MemberView> {
    const { state } = await loadMember(this.store, memberId);
    if (state.status === 'none') throw new NotFound('member', memberId);
    return {
      memberId,
      cardNumber: state.cardNumber,
      available: state.available,
      held: 0,
      lifetimeAccrued: state.lifetimeAccrued,
      lifetimeRedeemed: state.lifetimeRedeemed,
      lots: state.lots.map(({ lotId, issuerPartnerId, points, expiresAt }) => ({ lotId, issuerPartnerId, points, expiresAt })),
    };
  }
}
