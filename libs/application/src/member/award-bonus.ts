import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AwardBonus, NotFound, OPERATOR_SPONSOR, birthdayBonusTxId, programAt, referrerBonusTxId, txIdOf } from '@ledger/domain';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { TxOutcome } from './member-stream';
import { MemberTransactionPoster } from './post-transaction';

export interface BonusBody {
  txId: string;
  memberId: string;
  kind: AwardBonus['data']['kind'];
  /** Who pays for the points: a partnerId, or `operator`. */
  sponsor: string;
  points: number;
  balance: number;
  position: number;
}

/**
 * A surprise reward: `by` is the posting partner (the sponsor), or `operator` for an admin. Dated
 * by the clock: the request carries no business date. txId `by:externalId`, reserved
 * coalition-wide as every post's.
 */
export class AwardSurpriseBonusCommand extends Command<TxOutcome<BonusBody>> {
  constructor(
    readonly data: { by: string; externalId: string; memberId: string; points: number; reason: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** A partner rewards a member's action (a review, a survey...) at the programme's points, under its monthly cap. */
export class RewardActionCommand extends Command<TxOutcome<BonusBody>> {
  constructor(
    readonly data: { partnerId: string; externalId: string; memberId: string; action: string; occurredAt: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/**
 * The birthday bonus of `year` for a member (the job's command): txId per member-year, so a
 * second run, or two racing, write it once. `occurredAt`: the run's time.
 */
export class AwardBirthdayBonusCommand extends Command<TxOutcome<BonusBody> | 'no_bonus'> {
  constructor(
    readonly data: { memberId: string; year: number; occurredAt: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/**
 * The referrer's half of a referral: given when the referred member's first purchase gave
 * the referred member theirs (same points, sponsor and date). txId per pair: given once.
 */
export class AwardReferrerBonusCommand extends Command<TxOutcome<BonusBody> | 'no_bonus'> {
  constructor(
    readonly data: { referrerId: string; referredMemberId: string; occurredAt: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

const bodyOf =
  (txId: string, memberId: string, kind: BonusBody['kind'], sponsor: string) =>
  (r: { points: number; balanceAfter: number; position: number }): BonusBody => ({
    txId,
    memberId,
    kind,
    sponsor,
    points: r.points,
    balance: r.balanceAfter,
    position: r.position,
  });

@CommandHandler(AwardSurpriseBonusCommand)
export class AwardSurpriseBonusHandler implements ICommandHandler<AwardSurpriseBonusCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: AwardSurpriseBonusCommand): Promise<TxOutcome<BonusBody>> {
    const coalition = await this.reference.configuredCoalition();
    // A suspended partner gives nothing, as it posts nothing.
    if (data.by !== OPERATOR_SPONSOR) await this.reference.activePartner(data.by);
    const txId = txIdOf(data.by, data.externalId);
    const command: AwardBonus = {
      type: 'AwardBonus',
      data: {
        txId,
        kind: 'surprise',
        partnerId: data.by,
        externalId: data.externalId,
        memberId: data.memberId,
        points: data.points,
        sponsor: data.by,
        reason: data.reason,
        occurredAt: this.clock.now().toISOString(),
      },
      context: txContextOf(coalition, this.config),
    };
    return this.poster.post(command, txId, meta, bodyOf(txId, data.memberId, 'surprise', data.by));
  }
}

@CommandHandler(RewardActionCommand)
export class RewardActionHandler implements ICommandHandler<RewardActionCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: RewardActionCommand): Promise<TxOutcome<BonusBody>> {
    const [coalition, , program] = await Promise.all([
      this.reference.configuredCoalition(),
      this.reference.activePartner(data.partnerId),
      this.reference.program(),
    ]);
    // The action's rule in force at the business date: an action the programme does not list is unknown.
    const actions = programAt(program, data.occurredAt)?.bonuses.actions ?? {};
    // Own keys only: `constructor` or `toString` name no action, whatever a plain object inherits.
    const rule = Object.hasOwn(actions, data.action) ? actions[data.action] : undefined;
    if (rule === undefined) throw new NotFound('action', data.action);
    const txId = txIdOf(data.partnerId, data.externalId);
    const command: AwardBonus = {
      type: 'AwardBonus',
      data: {
        txId,
        kind: 'action',
        partnerId: data.partnerId,
        externalId: data.externalId,
        memberId: data.memberId,
        points: rule.points,
        sponsor: rule.sponsor,
        reason: data.action,
        occurredAt: data.occurredAt,
      },
      context: { ...txContextOf(coalition, this.config), capPerMonth: rule.capPerMonth },
    };
    return this.poster.post(command, txId, meta, bodyOf(txId, data.memberId, 'action', rule.sponsor));
  }
}

@CommandHandler(AwardBirthdayBonusCommand)
export class AwardBirthdayBonusHandler implements ICommandHandler<AwardBirthdayBonusCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: AwardBirthdayBonusCommand): Promise<TxOutcome<BonusBody> | 'no_bonus'> {
    const [coalition, program] = await Promise.all([this.reference.configuredCoalition(), this.reference.program()]);
    const rule = programAt(program, data.occurredAt)?.bonuses.birthday;
    if (rule === undefined) return 'no_bonus';
    const txId = birthdayBonusTxId(data.memberId, data.year);
    const command: AwardBonus = {
      type: 'AwardBonus',
      data: {
        txId,
        kind: 'birthday',
        partnerId: OPERATOR_SPONSOR,
        externalId: null,
        memberId: data.memberId,
        points: rule.points,
        sponsor: rule.sponsor,
        reason: String(data.year),
        occurredAt: data.occurredAt,
      },
      context: txContextOf(coalition, this.config),
    };
    return this.poster.post(command, txId, meta, bodyOf(txId, data.memberId, 'birthday', rule.sponsor));
  }
}

@CommandHandler(AwardReferrerBonusCommand)
export class AwardReferrerBonusHandler implements ICommandHandler<AwardReferrerBonusCommand> {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly poster: MemberTransactionPoster,
  ) {}

  async execute({ data, meta }: AwardReferrerBonusCommand): Promise<TxOutcome<BonusBody> | 'no_bonus'> {
    const [coalition, program] = await Promise.all([this.reference.configuredCoalition(), this.reference.program()]);
    const rule = programAt(program, data.occurredAt)?.bonuses.referral;
    if (rule === undefined) return 'no_bonus';
    const txId = referrerBonusTxId(data.referrerId, data.referredMemberId);
    const command: AwardBonus = {
      type: 'AwardBonus',
      data: {
        txId,
        kind: 'referral',
        partnerId: OPERATOR_SPONSOR,
        externalId: null,
        memberId: data.referrerId,
        points: rule.points,
        sponsor: rule.sponsor,
        reason: data.referredMemberId,
        occurredAt: data.occurredAt,
      },
      context: txContextOf(coalition, this.config),
    };
    return this.poster.post(command, txId, meta, bodyOf(txId, data.referrerId, 'referral', rule.sponsor));
  }
}

export const BONUS_COMMAND_HANDLERS = [
  AwardSurpriseBonusHandler,
  RewardActionHandler,
  AwardBirthdayBonusHandler,
  AwardReferrerBonusHandler,
];
