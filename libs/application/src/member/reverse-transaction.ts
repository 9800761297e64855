import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { txIdOf } from '@ledger/domain';
import { CommandMeta } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { TxOutcome } from './member-stream';
import { MemberTransactionPoster } from './post-transaction';
import { Allocation, allocationsByIssuer } from './redeem-points';

export class ReverseTransactionCommand extends Command<TxOutcome<ReversalBody>> {
  constructor(
    /** `points`: part of the original; absent, all that remains of it. */
    readonly data: {
      partnerId: string;
      externalId: string;
      memberId: string;
      originalExternalId: string;
      occurredAt: string;
      points?: number;
    },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export interface ReversalBody {
  txId: string;
  memberId: string;
  originalTxId: string;
  kind: 'accrual_reversal' | 'redemption_reversal';
  points: number;
  allocations: Allocation[];
  /** Of a part of a redemption: slices that went back to a lot expired meanwhile, and lapsed at once. */
  expired: ExpiredSlice[];
  balance: number;
  position: number;
}

export interface ExpiredSlice {
  lotId: string;
  issuerPartnerId: string;
  points: number;
  expiresAt: string;
}

@CommandHandler(ReverseTransactionCommand)
export class ReverseTransactionHandler implements ICommandHandler<ReverseTransactionCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: ReverseTransactionCommand): Promise<TxOutcome<ReversalBody>> {
    const [coalition] = await Promise.all([this.reference.configuredCoalition(), this.reference.activePartner(data.partnerId)]);
    const txId = txIdOf(data.partnerId, data.externalId);
    const context = txContextOf(coalition, this.config);
    return this.poster.post({ type: 'ReverseTransaction', data, context }, txId, meta, (r, state) => {
      // The decider's rule, applied again to the record: a part of a redemption going back to a lot past its expiry lapsed.
      const expired: ExpiredSlice[] = [];
      if (data.points !== undefined && r.kind === 'redemption_reversal') {
        for (const s of r.slices) {
          const expiresAt = state.lotIndex.get(s.lotId)?.expiresAt;
          if (expiresAt !== undefined && Date.parse(expiresAt) <= Date.parse(r.occurredAt)) expired.push({ ...s, expiresAt });
        }
      }
      return {
        txId,
        memberId: data.memberId,
        originalTxId: txIdOf(data.partnerId, data.originalExternalId),
        kind: r.kind as ReversalBody['kind'],
        points: r.points,
        allocations: allocationsByIssuer(r.slices),
        expired,
        balance: r.balanceAfter,
        position: r.position,
      };
    });
  }
}
