import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { PointsExpired, decideMember, memberStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData } from '../shared/reference-data';
import { loadMember } from './member-stream';

/** What one member's expiry wrote: no lots when another job (or a spend) was first. */
export interface LotsExpired {
  memberId: string;
  /** Lots whose rest lapsed now (one PointsExpired each). */
  lots: number;
  points: number;
}

/**
 * Records the lapse of a member's lots due by `until` (not after the clock): the expiry job's
 * command. Safe to repeat and to race: a lot already empty lapses to nothing.
 */
export class ExpireDueLotsCommand extends Command<LotsExpired> {
  constructor(
    readonly data: { memberId: string; until: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

@CommandHandler(ExpireDueLotsCommand)
export class ExpireDueLotsHandler implements ICommandHandler<ExpireDueLotsCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  async execute({ data, meta }: ExpireDueLotsCommand): Promise<LotsExpired> {
    const { memberId } = data;
    const coalition = await this.reference.configuredCoalition();
    const context = { coalitionCurrency: coalition.currency };
    return retryOnConflict(this.store, memberStream(memberId), async () => {
      const loaded = await loadMember(this.store, memberId);
      const events = decideMember({ type: 'ExpireDueLots', data, context }, loaded.state, this.clock.now());
      if (events.length === 0) return { memberId, lots: 0, points: 0 };
      const occurredAt = (events[0].data as { occurredAt: string }).occurredAt;
      // The expected revision decides between two jobs: the loser reloads and finds the lots empty.
      // Another writer's cached state of this member then fails its own expected revision and reloads.
      await appendDecided(this.store, memberStream(memberId), loaded, events, meta, occurredAt);
      const points = events.reduce((sum, e) => sum + (e as PointsExpired).data.points, 0);
      return { memberId, lots: events.length, points };
    });
  }
}
