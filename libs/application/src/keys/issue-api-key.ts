import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { NotFound, StaffRole, coalitionStream, decideCoalition, decidePartner, partnerStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData, loadCoalition, loadPartner } from '../shared/reference-data';
import { STAFF_SCOPE, newApiKey } from './api-keys';

export type KeyScope = { partnerId: string } | { role: StaffRole };

export class IssueApiKeyCommand extends Command<IssuedKey> {
  constructor(
    readonly scope: KeyScope,
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** The key itself is returned once, here; the store keeps only its hash. */
export interface IssuedKey {
  keyId: string;
  key: string;
  role: string;
  partnerId?: string;
}

@CommandHandler(IssueApiKeyCommand)
export class IssueApiKeyHandler implements ICommandHandler<IssueApiKeyCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  execute({ scope, meta }: IssueApiKeyCommand): Promise<IssuedKey> {
    const now = this.clock.now().toISOString();
    if ('partnerId' in scope) {
      const { partnerId } = scope;
      const issued = newApiKey(partnerId);
      return retryOnConflict(this.store, partnerStream(partnerId), async () => {
        const loaded = await loadPartner(this.store, partnerId);
        if (loaded.state.status === 'none') throw new NotFound('partner', partnerId);
        const events = decidePartner(
          { type: 'IssuePartnerKey', data: { partnerId, keyId: issued.keyId, keyHash: issued.keyHash } },
          loaded.state,
        );
        await appendDecided(this.store, partnerStream(partnerId), loaded, events, meta, now);
        this.reference.invalidate(partnerStream(partnerId));
        return { keyId: issued.keyId, key: issued.key, role: 'partner', partnerId };
      });
    }
    const issued = newApiKey(STAFF_SCOPE);
    return retryOnConflict(this.store, coalitionStream(), async () => {
      const loaded = await loadCoalition(this.store);
      const events = decideCoalition(
        { type: 'IssueStaffKey', data: { keyId: issued.keyId, role: scope.role, keyHash: issued.keyHash } },
        loaded.state,
      );
      await appendDecided(this.store, coalitionStream(), loaded, events, meta, now);
      this.reference.invalidate(coalitionStream());
      return { keyId: issued.keyId, key: issued.key, role: scope.role };
    });
  }
}
