import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { LotSlice, RedeemPoints, txIdOf } from '@ledger/domain';
import { CommandMeta } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { TxOutcome } from './member-stream';
import { MemberTransactionPoster } from './post-transaction';

export class RedeemPointsCommand extends Command<TxOutcome<RedemptionBody>> {
  constructor(
    readonly data: RedeemPoints['data'],
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export interface Allocation {
  issuerPartnerId: string;
  points: number;
}

export interface RedemptionBody {
  txId: string;
  memberId: string;
  points: number;
  allocations: Allocation[];
  balance: number;
  position: number;
}

/** Slices summed per issuer, in the order the issuers were first drawn on. */
export function allocationsByIssuer(slices: readonly LotSlice[]): Allocation[] {
  const byIssuer = new Map<string, number>();
  for (const s of slices) byIssuer.set(s.issuerPartnerId, (byIssuer.get(s.issuerPartnerId) ?? 0) + s.points);
  return [...byIssuer].map(([issuerPartnerId, points]) => ({ issuerPartnerId, points }));
}

@CommandHandler(RedeemPointsCommand)
export class RedeemPointsHandler implements ICommandHandler<RedeemPointsCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: RedeemPointsCommand): Promise<TxOutcome<RedemptionBody>> {
    const [coalition] = await Promise.all([this.reference.configuredCoalition(), this.reference.activePartner(data.partnerId)]);
    const txId = txIdOf(data.partnerId, data.externalId);
    const context = txContextOf(coalition, this.config);
    return this.poster.post({ type: 'RedeemPoints', data, context }, txId, meta, (r) => ({
      txId,
      memberId: data.memberId,
      points: r.points,
      allocations: allocationsByIssuer(r.slices),
      balance: r.balanceAfter,
      position: r.position,
    }));
  }
}
