import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { EarnRule, decidePartner, partnerStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData, loadPartner } from '../shared/reference-data';

export class RegisterPartnerCommand extends Command<PartnerView> {
  constructor(
    readonly data: { partnerId: string; name: string; earnRule: EarnRule; issuanceFeeBps: number; breakageShareBps: number },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export interface PartnerView {
  partnerId: string;
  name: string;
  earnRule: EarnRule;
  issuanceFeeBps: number;
  breakageShareBps: number;
  status: string;
}

@CommandHandler(RegisterPartnerCommand)
export class RegisterPartnerHandler implements ICommandHandler<RegisterPartnerCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  execute({ data, meta }: RegisterPartnerCommand): Promise<PartnerView> {
    const stream = partnerStream(data.partnerId);
    return retryOnConflict(this.store, stream, async () => {
      const loaded = await loadPartner(this.store, data.partnerId);
      const now = this.clock.now().toISOString();
      // Terms of a new partner apply from the beginning of its history.
      const events = decidePartner({ type: 'JoinPartner', data: { ...data, effectiveFrom: '1970-01-01T00:00:00.000Z' } }, loaded.state);
      await appendDecided(this.store, stream, loaded, events, meta, now);
      this.reference.invalidate(stream);
      return { ...data, status: 'active' };
    });
  }
}
