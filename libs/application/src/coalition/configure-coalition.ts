import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { coalitionStream, decideCoalition } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData, loadCoalition } from '../shared/reference-data';

export class ConfigureCoalitionCommand extends Command<CoalitionView> {
  constructor(
    readonly data: { currency: string; pointValueMinor: number; expiryMonths: number },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export interface CoalitionView {
  currency: string;
  pointValueMinor: number;
  expiryMonths: number;
}

@CommandHandler(ConfigureCoalitionCommand)
export class ConfigureCoalitionHandler implements ICommandHandler<ConfigureCoalitionCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  execute({ data, meta }: ConfigureCoalitionCommand): Promise<CoalitionView> {
    const stream = coalitionStream();
    return retryOnConflict(this.store, stream, async () => {
      const loaded = await loadCoalition(this.store);
      const events = decideCoalition({ type: 'ConfigureCoalition', data }, loaded.state);
      if (events.length > 0) await appendDecided(this.store, stream, loaded, events, meta, this.clock.now().toISOString());
      this.reference.invalidate(stream);
      return { ...data };
    });
  }
}
