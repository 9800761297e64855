import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { EarnRule, NotFound, PartnerTerms, checkEffectiveFrom, decidePartner, partnerStream, termsAt } from '@ledger/domain';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { CLOCK, Clock } from '../shared/clock';
import { CommandMeta } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { appendDecided, retryOnConflict } from '../shared/event-stream';
import { ReferenceData, loadPartner } from '../shared/reference-data';

export class ChangePartnerTermsCommand extends Command<PartnerTermsView> {
  constructor(
    readonly data: { partnerId: string; issuanceFeeBps: number; breakageShareBps: number; effectiveFrom: string; earnRule?: EarnRule },
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

/** Every version of the partner's terms, oldest first, once the new one is in. */
export interface PartnerTermsView {
  partnerId: string;
  terms: PartnerTerms[];
}

/** A new version of a partner's terms, in force from a business date; earlier versions stay for earlier events. */
@CommandHandler(ChangePartnerTermsCommand)
export class ChangePartnerTermsHandler implements ICommandHandler<ChangePartnerTermsCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  execute({ data, meta }: ChangePartnerTermsCommand): Promise<PartnerTermsView> {
    checkEffectiveFrom('effectiveFrom', data.effectiveFrom, this.clock.now(), this.config.maxBackdateDays);
    const stream = partnerStream(data.partnerId);
    return retryOnConflict(this.store, stream, async () => {
      const loaded = await loadPartner(this.store, data.partnerId);
      if (loaded.state.status === 'none') throw new NotFound('partner', data.partnerId);
      const effectiveFrom = new Date(data.effectiveFrom).toISOString();
      // The earn rule carries over unless this version changes it too.
      const earnRule = data.earnRule ?? termsAt(loaded.state.terms, effectiveFrom).earnRule;
      const terms = { earnRule, issuanceFeeBps: data.issuanceFeeBps, breakageShareBps: data.breakageShareBps, effectiveFrom };
      const events = decidePartner({ type: 'ChangePartnerTerms', data: { partnerId: data.partnerId, ...terms } }, loaded.state);
      await appendDecided(this.store, stream, loaded, events, meta, this.clock.now().toISOString());
      this.reference.invalidate(stream);
      const after = [...loaded.state.terms, terms].sort((a, b) => Date.parse(a.effectiveFrom) - Date.parse(b.effectiveFrom));
      return { partnerId: data.partnerId, terms: after };
    });
  }
}
