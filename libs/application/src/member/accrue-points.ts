import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AccrualItem, programAt, termsAt, txIdOf } from '@ledger/domain';
import { CommandMeta } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { TxOutcome } from './member-stream';
import { MemberTransactionPoster } from './post-transaction';

export class AccruePointsCommand extends Command<TxOutcome<AccrualBody>> {
  constructor(
    readonly data: {
      partnerId: string;
      externalId: string;
      memberId: string;
      amountMinor: number;
      currency: string;
      occurredAt: string;
      items?: AccrualItem[];
    },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export interface AccrualBody {
  txId: string;
  memberId: string;
  points: number;
  balance: number;
  position: number;
}

@CommandHandler(AccruePointsCommand)
export class AccruePointsHandler implements ICommandHandler<AccruePointsCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: AccruePointsCommand): Promise<TxOutcome<AccrualBody>> {
    const [coalition, partner, program] = await Promise.all([
      this.reference.configuredCoalition(),
      this.reference.activePartner(data.partnerId),
      this.reference.program(),
    ]);
    const txId = txIdOf(data.partnerId, data.externalId);
    const inForce = programAt(program, data.occurredAt);
    const context = {
      ...txContextOf(coalition, this.config),
      earnRule: termsAt(partner.terms, data.occurredAt).earnRule,
      // Velocity limits and tiers of the programme in force at the business date (none before the first version).
      limits: inForce?.limits,
      tiers: inForce?.tiers,
    };
    return this.poster.post({ type: 'AccruePoints', data, context }, txId, meta, (r) => ({
      txId,
      memberId: data.memberId,
      points: r.points,
      balance: r.balanceAfter,
      position: r.position,
    }));
  }
}
