import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Conflict, decideMember, memberStream } from '@ledger/domain';
import { EVENT_STORE, EventStore, WrongExpectedVersion } from '@ledger/event-store';
import { GENESIS_HASH } from '@ledger/integrity';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, loadStream, retryOnConflict, withMetadata } from '../shared/event-stream';
import { TxOutcome, loadMember } from './member-stream';

export class EnrolMemberCommand extends Command<TxOutcome<EnrolledBody>> {
  constructor(
    readonly data: { memberId?: string; cardNumber: string; birthDate?: string; enrolledBy: string | null },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export interface EnrolledBody {
  memberId: string;
  cardNumber: string;
}

/** One card, one member: `card-{number}` is claimed (no_stream) before the member stream is written. */
export const cardStream = (cardNumber: string) => `card-${cardNumber}`;

@CommandHandler(EnrolMemberCommand)
export class EnrolMemberHandler implements ICommandHandler<EnrolMemberCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ data, meta }: EnrolMemberCommand): Promise<TxOutcome<EnrolledBody>> {
    const memberId = data.memberId ?? randomUUID();
    const { cardNumber } = data;
    const command = {
      type: 'EnrolMember' as const,
      data: { memberId, cardNumber, birthDate: data.birthDate ?? null, enrolledBy: data.enrolledBy },
    };
    const now = this.clock.now();
    const existing = await loadMember(this.store, memberId);
    if (existing.state.status !== 'none') {
      // The same enrolment again (a retry) answers as before; anything else is a conflict.
      if (existing.state.cardNumber === cardNumber) return { replay: true, body: { memberId, cardNumber } };
      throw new Conflict('member_exists', `member ${memberId} already exists`);
    }
    decideMember(command, existing.state, now); // refuses a bad card before anything is written
    await this.claimCard(cardNumber, memberId, meta, now);
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const loaded = await loadMember(this.store, memberId);
      if (loaded.state.status !== 'none') return { replay: loaded.state.cardNumber === cardNumber, body: { memberId, cardNumber } };
      const events = decideMember(command, loaded.state, now);
      await appendDecided(this.store, memberStream(memberId), loaded, events, meta, now.toISOString());
      return { replay: false, body: { memberId, cardNumber } };
    });
  }

  private async claimCard(cardNumber: string, memberId: string, meta: CommandMeta, now: Date): Promise<void> {
    const stream = cardStream(cardNumber);
    const event = { type: 'CardClaimed', data: { cardNumber, memberId } };
    try {
      await this.store.appendToStream(stream, withMetadata([event], meta, now.toISOString(), GENESIS_HASH), {
        expectedRevision: 'no_stream',
      });
    } catch (err) {
      if (!(err instanceof WrongExpectedVersion)) throw err;
      const claim = await loadStream(
        this.store,
        stream,
        () => '',
        (_s, e) => String((e.data as { memberId: string }).memberId),
      );
      // A claim left by an earlier attempt for this very member lets the retry finish.
      if (claim.state !== memberId) throw new Conflict('card_in_use', `card ${cardNumber} belongs to another member`);
    }
  }
}
