import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { NotFound, PurchaseMembership, programAt, txIdOf } from '@ledger/domain';
import { CommandMeta } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { TxOutcome } from './member-stream';
import { MemberTransactionPoster } from './post-transaction';

export interface MembershipBody {
  txId: string;
  memberId: string;
  planId: string;
  /** The fee the selling partner collected, minor units of the coalition currency. */
  feeMinor: number;
  currency: string;
  validFrom: string;
  /** Exclusive: accruals dated from here on earn without the plan. */
  validUntil: string;
  multiplierBps: number;
  tierFloor: string | null;
  position: number;
}

/**
 * A partner sells the member a paid plan of the programme (issue 14 §4). txId
 * `partnerId:externalId`, reserved coalition-wide as every post's; a retry answers as first posted.
 */
export class PurchaseMembershipCommand extends Command<TxOutcome<MembershipBody>> {
  constructor(
    readonly data: PurchaseMembership['data'],
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

@CommandHandler(PurchaseMembershipCommand)
export class PurchaseMembershipHandler implements ICommandHandler<PurchaseMembershipCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: PurchaseMembershipCommand): Promise<TxOutcome<MembershipBody>> {
    const [coalition, , program] = await Promise.all([
      this.reference.configuredCoalition(),
      this.reference.activePartner(data.partnerId),
      this.reference.program(),
    ]);
    // The plans in force at the business date: no programme then is 404 program, a plan it does not list 404 plan.
    const version = programAt(program, data.occurredAt);
    if (version === undefined) throw new NotFound('program', 'default');
    const plan = version.plans.find((p) => p.planId === data.planId);
    if (plan === undefined) throw new NotFound('plan', data.planId);
    const txId = txIdOf(data.partnerId, data.externalId);
    const command: PurchaseMembership = {
      type: 'PurchaseMembership',
      data,
      context: { ...txContextOf(coalition, this.config), plan },
    };
    return this.poster.post(command, txId, meta, (r, state) => {
      const held = state.memberships.find((m) => m.txId === txId);
      // The record exists once the purchase is decided or replayed: its membership is in the state.
      if (held === undefined) throw new Error(`membership ${txId} missing from the member's state`);
      return {
        txId,
        memberId: data.memberId,
        planId: held.planId,
        feeMinor: held.feeMinor,
        currency: coalition.currency,
        validFrom: held.validFrom,
        validUntil: held.validUntil,
        multiplierBps: held.multiplierBps,
        tierFloor: held.tierFloor ?? null,
        position: r.position,
      };
    });
  }
}
