import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { NotFound, coalitionStream, decideCoalition, decidePartner, partnerStream } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData, loadCoalition, loadPartner } from '../shared/reference-data';

export interface RevokedKey {
  keyId: string;
  /** The partner the key belonged to; absent for staff keys. */
  partnerId?: string;
  /** False when the key was already revoked (nothing written). */
  revokedNow: boolean;
}

/**
 * Revokes a key by its id. A key id does not say which stream holds it, so the coalition
 * stream (staff keys) is looked at first, then each of `partnerIds` (the caller's list of
 * known partners).
 */
export class RevokeApiKeyCommand extends Command<RevokedKey> {
  constructor(
    readonly keyId: string,
    readonly partnerIds: readonly string[],
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

@CommandHandler(RevokeApiKeyCommand)
export class RevokeApiKeyHandler implements ICommandHandler<RevokeApiKeyCommand, RevokedKey> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
  ) {}

  async execute({ keyId, partnerIds, meta }: RevokeApiKeyCommand): Promise<RevokedKey> {
    const now = this.clock.now().toISOString();
    const staff = await retryOnConflict(this.store, coalitionStream(), async () => {
      const loaded = await loadCoalition(this.store);
      if (!loaded.state.keys.has(keyId)) return undefined;
      const events = decideCoalition({ type: 'RevokeStaffKey', data: { keyId } }, loaded.state);
      if (events.length > 0) await appendDecided(this.store, coalitionStream(), loaded, events, meta, now);
      return { keyId, revokedNow: events.length > 0 };
    });
    if (staff) {
      // At once on this replica; other replicas re-read within REFERENCE_TTL_MS.
      this.reference.invalidate(coalitionStream());
      return staff;
    }
    for (const partnerId of partnerIds) {
      const stream = partnerStream(partnerId);
      const found = await retryOnConflict(this.store, stream, async () => {
        const loaded = await loadPartner(this.store, partnerId);
        if (!loaded.state.keys.has(keyId)) return undefined;
        const events = decidePartner({ type: 'RevokePartnerKey', data: { partnerId, keyId } }, loaded.state);
        if (events.length > 0) await appendDecided(this.store, stream, loaded, events, meta, now);
        return { keyId, partnerId, revokedNow: events.length > 0 };
      });
      if (found) {
        this.reference.invalidate(stream);
        return found;
      }
    }
    throw new NotFound('key', keyId);
  }
}
