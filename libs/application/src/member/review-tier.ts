import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { TierChanged, decideMember, memberStream, programAt } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData } from '../shared/reference-data';
import { loadMember } from './member-stream';

/** What one member's review wrote: the tier it dropped to, or nothing (kept, or not yet an anniversary). */
export interface TierReviewed {
  memberId: string;
  changed: boolean;
  fromTierId: string | null;
  toTierId: string | null;
}

/**
 * The anniversary review of a member's tier as of `at` (not after the clock): the tier job's
 * command. Safe to repeat and to race: the decision depends on the anniversary only, and the
 * expected revision lets one of two racing runs write.
 */
export class ReviewTierCommand extends Command<TierReviewed> {
  constructor(
    readonly data: { memberId: string; at: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

@CommandHandler(ReviewTierCommand)
export class ReviewTierHandler implements ICommandHandler<ReviewTierCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  async execute({ data, meta }: ReviewTierCommand): Promise<TierReviewed> {
    const { memberId } = data;
    const program = await this.reference.program();
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const loaded = await loadMember(this.store, memberId);
      // The tiers in force at the review date; without a programme there is nothing to review.
      const tiers = programAt(program, data.at)?.tiers ?? [];
      const events = decideMember({ type: 'ReviewTier', data, context: { tiers } }, loaded.state, this.clock.now());
      if (events.length === 0) return { memberId, changed: false, fromTierId: loaded.state.tier, toTierId: loaded.state.tier };
      const change = events[0] as TierChanged;
      await appendDecided(this.store, memberStream(memberId), loaded, events, meta, change.data.occurredAt);
      return { memberId, changed: true, fromTierId: change.data.fromTierId, toTierId: change.data.toTierId };
    });
  }
}
