import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { PartnerCommand, decidePartner, partnerStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData, loadPartner } from '../shared/reference-data';

export interface PartnerStatusBody {
  partnerId: string;
  status: 'active' | 'suspended';
  /** Position of the event recorded; null when the partner already had that status. */
  position: number | null;
}

type StatusCommand = Extract<PartnerCommand, { type: 'SuspendPartner' | 'ReinstatePartner' }>;

export class SuspendPartnerCommand extends Command<PartnerStatusBody> {
  constructor(
    readonly data: { partnerId: string; reason: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export class ReinstatePartnerCommand extends Command<PartnerStatusBody> {
  constructor(
    readonly data: { partnerId: string },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** Load, decide, append; the reference cache forgets the partner at once, so its next post in this process is refused. */
async function changeStatus(
  store: EventStore,
  clock: Clock,
  reference: ReferenceData,
  command: StatusCommand,
  meta: CommandMeta,
): Promise<PartnerStatusBody> {
  const stream = partnerStream(command.data.partnerId);
  return retryOnConflict(store, stream, async () => {
    const loaded = await loadPartner(store, command.data.partnerId);
    const events = decidePartner(command, loaded.state);
    const status = command.type === 'SuspendPartner' ? 'suspended' : 'active';
    if (events.length === 0) return { partnerId: command.data.partnerId, status, position: null };
    const appended = await appendDecided(store, stream, loaded, events, meta, clock.now().toISOString());
    reference.invalidate(stream);
    return { partnerId: command.data.partnerId, status, position: appended.position };
  });
}

/** `POST /v1/partners/{id}/suspend`: its posts are refused (422 partner_suspended); points it issued stay spendable elsewhere. */
@CommandHandler(SuspendPartnerCommand)
export class SuspendPartnerHandler implements ICommandHandler<SuspendPartnerCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  execute({ data, meta }: SuspendPartnerCommand): Promise<PartnerStatusBody> {
    return changeStatus(this.store, this.clock, this.reference, { type: 'SuspendPartner', data }, meta);
  }
}

@CommandHandler(ReinstatePartnerCommand)
export class ReinstatePartnerHandler implements ICommandHandler<ReinstatePartnerCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  execute({ data, meta }: ReinstatePartnerCommand): Promise<PartnerStatusBody> {
    return changeStatus(this.store, this.clock, this.reference, { type: 'ReinstatePartner', data }, meta);
  }
}
