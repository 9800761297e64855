import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { MemberEvent, MemberState, NotFound, decideMember, memberStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { LoadedStream, appendDecided, retryOnConflict } from '../shared/event-stream';
import { cardHolder, claimCard, retireCard } from '../member/cards';
import { MemberStateCache } from '../member/member-cache';
import { TxOutcome, loadMember } from '../member/member-stream';

/**
 * Who may act on a member's card: an admin, or the partner that enrolled the member. To
 * anyone else the card (or member) is as unknown as one never issued: 404, so a partner
 * cannot learn which card numbers exist elsewhere.
 */
function requireCardKeeper(state: MemberState, meta: CommandMeta, notFound: () => NotFound): void {
  if (state.status === 'none') throw notFound();
  const { role, partnerId } = meta.actor;
  if (role === 'admin') return;
  if (role === 'partner' && partnerId !== undefined && partnerId === state.enrolledBy) return;
  throw notFound();
}

export interface CardBody {
  memberId: string;
  cardNumber: string;
  blocked: boolean;
  /** Position of the event recorded; null when nothing new was (the card was already so). */
  position: number | null;
}

/** Appends decided events to a member's stream and keeps the write path's member cache in step. */
async function appendToMember(
  store: EventStore,
  cache: MemberStateCache,
  loaded: LoadedStream<MemberState>,
  events: MemberEvent[],
  meta: CommandMeta,
  now: Date,
): Promise<number> {
  const memberId = loaded.state.memberId;
  cache.drop(memberId);
  const appended = await appendDecided(store, memberStream(memberId), loaded, events, meta, now.toISOString());
  cache.setAppended(memberId, loaded.state, events, appended);
  return appended.position;
}

export class BlockCardCommand extends Command<CardBody> {
  constructor(
    readonly data: { cardNumber: string; reason: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** `POST /v1/cards/{cardNumber}/block`: the member's transactions are refused (422 card_blocked) until a replacement. */
@CommandHandler(BlockCardCommand)
export class BlockCardHandler implements ICommandHandler<BlockCardCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly cache: MemberStateCache,
  ) {}

  async execute({ data, meta }: BlockCardCommand): Promise<CardBody> {
    const { cardNumber, reason } = data;
    const notFound = () => new NotFound('card', cardNumber);
    const memberId = await cardHolder(this.store, cardNumber);
    if (memberId === undefined) throw notFound();
    const blockedBy = meta.actor.role === 'partner' ? meta.actor.partnerId! : 'admin';
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const now = this.clock.now();
      const loaded = await loadMember(this.store, memberId);
      requireCardKeeper(loaded.state, meta, notFound);
      const events = decideMember({ type: 'BlockCard', data: { memberId, cardNumber, reason, blockedBy } }, loaded.state, now);
      const position = events.length === 0 ? null : await appendToMember(this.store, this.cache, loaded, events, meta, now);
      return { memberId, cardNumber, blocked: true, position };
    });
  }
}

export class ReplaceCardCommand extends Command<TxOutcome<CardBody>> {
  constructor(
    readonly data: { memberId: string; cardNumber: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/**
 * `POST /v1/members/{memberId}/cards`: a new card that carries the balance and ends a block.
 * The new card is claimed first, the old one retired, then the member stream names the new
 * one; a retry of the same request finishes whatever an interrupted one left (each step is
 * idempotent), and answers as a replay once the member holds the card.
 */
@CommandHandler(ReplaceCardCommand)
export class ReplaceCardHandler implements ICommandHandler<ReplaceCardCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly cache: MemberStateCache,
  ) {}

  async execute({ data, meta }: ReplaceCardCommand): Promise<TxOutcome<CardBody>> {
    const { memberId, cardNumber } = data;
    const command = { type: 'ReplaceCard' as const, data: { memberId, cardNumber } };
    const notFound = () => new NotFound('member', memberId);
    const first = await loadMember(this.store, memberId);
    requireCardKeeper(first.state, meta, notFound);
    // Refuses a bad card number before anything is written; nothing to do when the member holds it already.
    if (decideMember(command, first.state, this.clock.now()).length === 0) {
      return { replay: true, body: { memberId, cardNumber, blocked: first.state.cardBlocked, position: null } };
    }
    await claimCard(this.store, cardNumber, memberId, meta, this.clock.now());
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const now = this.clock.now();
      const loaded = await loadMember(this.store, memberId);
      const events = decideMember(command, loaded.state, now);
      if (events.length === 0) return { replay: true, body: { memberId, cardNumber, blocked: false, position: null } };
      // The card being replaced is the one the member holds now (another replacement may have come first).
      await retireCard(this.store, loaded.state.cardNumber, memberId, cardNumber, meta, now);
      const position = await appendToMember(this.store, this.cache, loaded, events, meta, now);
      return { replay: false, body: { memberId, cardNumber, blocked: false, position } };
    });
  }
}
