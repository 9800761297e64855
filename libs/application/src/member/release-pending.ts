import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideMember, memberStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { loadMember } from './member-stream';

/**
 * Records that a pending lot's return window has ended; `released` is false when there was
 * nothing to record (already released by another job, or cancelled by refunds meanwhile).
 */
export class ReleasePendingPointsCommand extends Command<{ lotId: string; released: boolean }> {
  constructor(
    readonly data: { memberId: string; lotId: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

@CommandHandler(ReleasePendingPointsCommand)
export class ReleasePendingPointsHandler implements ICommandHandler<ReleasePendingPointsCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ data, meta }: ReleasePendingPointsCommand): Promise<{ lotId: string; released: boolean }> {
    const { memberId, lotId } = data;
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const loaded = await loadMember(this.store, memberId);
      const events = decideMember({ type: 'ReleasePendingPoints', data }, loaded.state, this.clock.now());
      if (events.length === 0) return { lotId, released: false };
      const occurredAt = (events[0].data as { occurredAt: string }).occurredAt;
      // Two jobs racing: the second fails its expected revision, reloads, and decides nothing.
      await appendDecided(this.store, memberStream(memberId), loaded, events, meta, occurredAt);
      return { lotId, released: true };
    });
  }
}
