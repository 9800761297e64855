import { Inject } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AccruePoints, programAt, referralBonusTxId, termsAt, txIdOf } from '@ledger/domain';
import { AwardReferrerBonusCommand } from './award-bonus';
import { CommandMeta } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { TxOutcome } from './member-stream';
import { MemberTransactionPoster } from './post-transaction';

export class AccruePointsCommand extends Command<TxOutcome<AccrualBody>> {
  constructor(
    readonly data: AccruePoints['data'],
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
    private readonly commands: CommandBus,
  ) {}

  async execute({ data, meta }: AccruePointsCommand): Promise<TxOutcome<AccrualBody>> {
    const [coalition, partner, program] = await Promise.all([
      this.reference.configuredCoalition(),
      this.reference.activePartner(data.partnerId),
      this.reference.program(),
    ]);
    const txId = txIdOf(data.partnerId, data.externalId);
    const inForce = programAt(program, data.occurredAt);
    // Added to the coalition's context with Object.assign: a spread of it here cost 3% of an accrual.
    const context = Object.assign(txContextOf(coalition, this.config), {
      earnRule: termsAt(partner.terms, data.occurredAt).earnRule,
      // Velocity limits and tiers of the programme in force at the business date (none before the first version).
      limits: inForce?.limits,
      tiers: inForce?.tiers,
      referral: inForce?.bonuses.referral,
    });
    let referrer: { referrerId: string; occurredAt: string } | undefined;
    const outcome = await this.poster.post({ type: 'AccruePoints', data, context }, txId, meta, (r, state) => {
      const referral = state.transactions.get(referralBonusTxId(data.memberId));
      if (state.referredBy !== null && state.firstPurchaseTxId === txId && referral !== undefined) {
        referrer = { referrerId: state.referredBy, occurredAt: referral.occurredAt };
      }
      return { txId, memberId: data.memberId, points: r.points, balance: r.balanceAfter, position: r.position };
    });
    // The referrer's half, a second append on another stream: after the first purchase's
    // append, and again on every retry of that purchase (deterministic txId: given once). A
    // crash in between leaves the partner without an answer, and its retry completes it.
    if (referrer !== undefined) {
      await this.commands.execute(new AwardReferrerBonusCommand({ ...referrer, referredMemberId: data.memberId }, meta));
    }
    return outcome;
  }
}
