import { Inject } from '@nestjs/common';
import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { CLOCK, Clock } from '@ledger/application';
import { InvalidInput, NotFound } from '@ledger/domain';
import { MemberBalance, PartnerPosition } from '@ledger/projections';
import { ReadModelAccess } from './read-model';

/**
 * Reads from the read models. Each query may carry `minPosition`, a position a command
 * returned: the answer then reflects at least that write (read-your-writes), or is a 503
 * after the wait.
 */
export class GetMemberBalanceQuery extends Query<MemberBalance> {
  constructor(
    readonly memberId: string,
    readonly minPosition?: number,
  ) {
    super();
  }
}

export class GetPartnerPositionQuery extends Query<PartnerPosition> {
  constructor(
    readonly partnerId: string,
    readonly minPosition?: number,
  ) {
    super();
  }
}

export class ListPartnerPositionsQuery extends Query<PartnerPosition[]> {
  constructor(readonly minPosition?: number) {
    super();
  }
}

@QueryHandler(GetMemberBalanceQuery)
export class GetMemberBalanceHandler implements IQueryHandler<GetMemberBalanceQuery> {
  constructor(
    private readonly readModel: ReadModelAccess,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ memberId, minPosition }: GetMemberBalanceQuery): Promise<MemberBalance> {
    const member = await (await this.readModel.atLeast(minPosition)).member(memberId, this.clock.now());
    if (!member) throw new NotFound('member', memberId);
    return member;
  }
}

@QueryHandler(GetPartnerPositionQuery)
export class GetPartnerPositionHandler implements IQueryHandler<GetPartnerPositionQuery> {
  constructor(
    private readonly readModel: ReadModelAccess,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ partnerId, minPosition }: GetPartnerPositionQuery): Promise<PartnerPosition> {
    const position = await (await this.readModel.atLeast(minPosition)).partnerPosition(partnerId, this.clock.now());
    if (!position) throw new NotFound('partner', partnerId);
    return position;
  }
}

@QueryHandler(ListPartnerPositionsQuery)
export class ListPartnerPositionsHandler implements IQueryHandler<ListPartnerPositionsQuery> {
  constructor(
    private readonly readModel: ReadModelAccess,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ minPosition }: ListPartnerPositionsQuery): Promise<PartnerPosition[]> {
    return (await this.readModel.atLeast(minPosition)).partnerPositions(this.clock.now());
  }
}

export const READ_MODEL_QUERY_HANDLERS = [GetMemberBalanceHandler, GetPartnerPositionHandler, ListPartnerPositionsHandler];

const POSITION_TEXT = /^[0-9]{1,16}$/;

/** `?minPosition=` as given on the query string: absent, or a non-negative safe integer (400 otherwise). */
export function parseMinPosition(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && POSITION_TEXT.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new InvalidInput('minPosition', 'must be a non-negative integer: a position returned by a command');
  }
  return value;
}
