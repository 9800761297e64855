import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Conflict, EnrolMember, InvalidInput, decideMember, memberStream, programAt } from '@ledger/domain';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData, txContextOf } from '../shared/reference-data';
import { claimCard } from './cards';
import { MemberStateCache } from './member-cache';
import { TxOutcome, loadMember } from './member-stream';

export class EnrolMemberCommand extends Command<TxOutcome<EnrolledBody>> {
  constructor(
    readonly data: { memberId?: string; cardNumber: string; birthDate?: string; enrolledBy: string | null; referredBy?: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export interface EnrolledBody {
  memberId: string;
  cardNumber: string;
}

@CommandHandler(EnrolMemberCommand)
export class EnrolMemberHandler implements ICommandHandler<EnrolMemberCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly cache: MemberStateCache,
  ) {}

  async execute({ data, meta }: EnrolMemberCommand): Promise<TxOutcome<EnrolledBody>> {
    const memberId = data.memberId ?? randomUUID();
    const { cardNumber } = data;
    // A suspended partner enrols no one (422 partner_suspended), as it posts nothing.
    if (data.enrolledBy !== null) await this.reference.activePartner(data.enrolledBy);
    const now = this.clock.now();
    // The welcome bonus of the programme in force now comes in the enrolment's append.
    const welcome = programAt(await this.reference.program(), now.toISOString())?.bonuses.welcome;
    const context =
      welcome === undefined ? undefined : { ...txContextOf(await this.reference.configuredCoalition(), this.config), welcome };
    const command: EnrolMember = {
      type: 'EnrolMember',
      data: {
        memberId,
        cardNumber,
        birthDate: data.birthDate ?? null,
        enrolledBy: data.enrolledBy,
        ...(data.referredBy === undefined ? {} : { referredBy: data.referredBy }),
      },
      ...(context === undefined ? {} : { context }),
    };
    if (data.referredBy !== undefined && data.referredBy !== memberId) {
      const referrer = await loadMember(this.store, data.referredBy);
      if (referrer.state.status === 'none')
        throw new InvalidInput('referredBy', `names no member (${data.referredBy})`, 'referrer_not_found');
    }
    const existing = await loadMember(this.store, memberId);
    if (existing.state.status !== 'none') {
      // The same enrolment again (a retry) answers as before; anything else is a conflict.
      if (existing.state.cardNumber === cardNumber) return { replay: true, body: { memberId, cardNumber } };
      throw new Conflict('member_exists', `member ${memberId} already exists`);
    }
    decideMember(command, existing.state, now); // refuses a bad card before anything is written
    await claimCard(this.store, cardNumber, memberId, meta, now);
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const loaded = await loadMember(this.store, memberId);
      if (loaded.state.status !== 'none') return { replay: loaded.state.cardNumber === cardNumber, body: { memberId, cardNumber } };
      const events = decideMember(command, loaded.state, now);
      const appended = await appendDecided(this.store, memberStream(memberId), loaded, events, meta, now.toISOString());
      // A member's first transaction often follows its enrolment at once (the same till): it
      // starts from this state instead of reading back what was just written.
      this.cache.setAppended(memberId, loaded.state, events, appended);
      return { replay: false, body: { memberId, cardNumber } };
    });
  }
}
